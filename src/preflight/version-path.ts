import {
  clusterModelOf,
  compareVersions,
  formatMinor,
  formatVersion,
  KNOWN_RELEASES,
  latestPatchOf,
  minorHops,
  sourceVersionOf,
  versionStatus,
} from '../core/index.ts';
import type { Finding, PreflightCheck } from './finding.ts';

/**
 * `version-path`: the target is reachable one minor at a time from the running control plane; downgrades
 * and versions we have no record of are refused.
 */
export const checkVersionPath: PreflightCheck = (snapshot, target, options) => {
  const model = clusterModelOf(snapshot, options.poolLabel);
  const subject = { kind: 'Cluster', name: snapshot.server.url };
  const finding = (severity: Finding['severity'], message: string, fix = ''): Finding => ({
    id: 'version-path',
    severity,
    subject,
    message,
    fix,
  });
  const source = sourceVersionOf(model);
  if (!source) {
    return [
      finding(
        'blocker',
        `cannot tell the cluster's version: the API server reported "${snapshot.server.gitVersion}"`,
        'check that the snapshot was read from a Kubernetes API server',
      ),
    ];
  }
  const known = `1.${KNOWN_RELEASES[0]!.minor}–1.${KNOWN_RELEASES.at(-1)!.minor}`;
  const status = versionStatus(target);
  if (status === 'unknown-minor') {
    return [
      finding(
        'blocker',
        `${formatVersion(target)} is not a Kubernetes release midflight knows (known: ${known})`,
        'pick a released version, or update KNOWN_RELEASES in src/core/versions.ts if it was just released',
      ),
    ];
  }
  if (target.major !== source.major) {
    return [
      finding(
        'blocker',
        `cannot upgrade across major versions (${formatVersion(source)} → ${formatVersion(target)})`,
      ),
    ];
  }
  const order = compareVersions(target, source);
  if (order < 0) {
    return [
      finding(
        'blocker',
        `${formatVersion(target)} is older than the running ${formatVersion(source)}: Kubernetes does not support downgrades`,
        'to go back, restore an etcd snapshot taken before the upgrade, or move forward to a fixed release',
      ),
    ];
  }
  const findings: Finding[] = [];
  if (status === 'newer-patch') {
    findings.push(
      finding(
        'warning',
        `${formatVersion(target)} is newer than the latest patch midflight has on record for ${formatMinor(target)}`,
        'make sure the version is released; update KNOWN_RELEASES in src/core/versions.ts',
      ),
    );
  }
  if (order === 0) {
    findings.push(
      finding('info', `the control plane already runs ${formatVersion(source)}; only nodes behind it move`),
    );
    return findings;
  }
  const hops = minorHops(source, target);
  const latest = latestPatchOf(source.major, source.minor);
  if (hops.length > 1) {
    findings.push(
      finding(
        'info',
        `${formatVersion(source)} → ${formatVersion(target)} takes ${hops.length} minor hops: ${hops.map(formatVersion).join(' → ')}`,
      ),
    );
  }
  if (latest && source.patch < latest.patch && hops.length > 0 && target.minor > source.minor) {
    findings.push(
      finding(
        'info',
        `the cluster runs ${formatVersion(source)}; the skew policy recommends the latest patch of the current minor (${formatVersion(latest)}) before a minor upgrade`,
      ),
    );
  }
  return findings;
};
