import {
  clusterModelOf,
  compareVersions,
  formatDuration,
  formatVersion,
  parseDuration,
  sourceVersionOf,
} from '../core/index.ts';
import type { Finding, PreflightCheck } from './finding.ts';

/**
 * `etcd-backup`: the control plane is about to move, and a control-plane minor cannot be downgraded, so a
 * backup is the way back. Findings:
 * - no backup can be taken: a managed control plane (no etcd static pods, no etcdBackup.endpoints) and no
 *   hooks.backup; the run's own backup phase takes one whenever etcd can be reached;
 * - with etcdBackup.maxAge: the newest snapshot in etcdBackup.dir is missing, older than maxAge, or was
 *   never verified (for teams whose scheduled backups must be fresh before any upgrade starts).
 * Warnings, or blockers when etcdBackup.required is true; `etcdBackup.enabled: false` turns it all off.
 */
export const checkEtcdBackup: PreflightCheck = (snapshot, target, options, now) => {
  const policy = options.etcdBackup;
  if (policy?.enabled === false) return [];
  const model = clusterModelOf(snapshot, options.poolLabel);
  const source = sourceVersionOf(model);
  if (!source || compareVersions(target, source) <= 0) return [];
  const severity = policy?.required ? 'blocker' : 'warning';
  const findings: Finding[] = [];
  const hook = typeof options.hooks?.backup === 'string' && options.hooks.backup.trim() !== '';
  const reachable =
    model.controlPlane.some((m) => m.etcd !== undefined) || (policy?.endpoints?.length ?? 0) > 0;
  if (!hook && !reachable)
    findings.push({
      id: 'etcd-backup',
      severity,
      subject: { kind: 'Policy', name: 'hooks.backup' },
      message: `no etcd backup will be taken before the control plane moves to ${formatVersion(target)}: the provider manages etcd (no etcd static pods, no etcdBackup.endpoints) and hooks.backup is not set`,
      fix: 'set hooks.backup to what the provider offers (e.g. a Velero backup), etcdBackup.endpoints if etcd is reachable, or etcdBackup.enabled: false to go without one',
    });
  if (policy?.maxAge !== undefined) {
    const maxAgeMs = parseDuration(policy.maxAge);
    const newest = options.newestBackup;
    const dir = policy.dir ?? 'etcdBackup.dir';
    const problem = !newest
      ? `no snapshot in ${dir}`
      : now - Date.parse(newest.takenAt) > maxAgeMs
        ? `the newest snapshot (${newest.file}) is ${formatDuration(now - Date.parse(newest.takenAt))} old, more than etcdBackup.maxAge ${policy.maxAge}`
        : !newest.verifiedAt
          ? `the newest snapshot (${newest.file}) was never verified`
          : undefined;
    if (problem)
      findings.push({
        id: 'etcd-backup',
        severity,
        subject: { kind: 'Policy', name: 'etcdBackup.maxAge' },
        message: `${problem}: a recent, verified backup must exist before the control plane moves`,
        fix: `take and check one: midflight backup save --to ${dir} … && midflight backup verify FILE`,
      });
  }
  return findings;
};
