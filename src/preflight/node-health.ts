import { clusterModelOf, conditionStatus, isMirrorPod } from '../core/index.ts';
import { type Finding, listSome, type PreflightCheck } from './finding.ts';

const PRESSURE = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];

/**
 * `node-health`: nodes not Ready (blocker: an upgrade must start from a healthy cluster), under pressure or
 * already cordoned (someone else may be working on them), and crash-looping pods (grouped by owner), which
 * would otherwise be blamed on the upgrade.
 */
export const checkNodeHealth: PreflightCheck = (snapshot, _target, options) => {
  const model = clusterModelOf(snapshot, options.poolLabel);
  const restarts = options.preflight?.crashLoopRestarts ?? 5;
  const findings: Finding[] = [];
  for (const n of model.nodes) {
    const subject = { kind: 'Node', name: n.name };
    if (!n.ready) {
      const ready = n.node.status?.conditions?.find((c) => c.type === 'Ready');
      findings.push({
        id: 'node-health',
        severity: 'blocker',
        subject,
        message: `is not Ready (${ready ? `${ready.status}${ready.reason ? `, ${ready.reason}` : ''}` : 'no Ready condition'})`,
        fix: 'repair or remove the node before upgrading',
      });
    }
    const pressures = PRESSURE.filter((t) => conditionStatus(n.node.status?.conditions, t) === 'True');
    if (pressures.length > 0) {
      findings.push({
        id: 'node-health',
        severity: 'warning',
        subject,
        message: `reports ${pressures.join(', ')}`,
        fix: 'relieve the pressure first: pods moved during the drain need headroom',
      });
    }
    if (n.cordoned) {
      findings.push({
        id: 'node-health',
        severity: 'warning',
        subject,
        message: 'is already cordoned; midflight will leave it cordoned after upgrading it',
        fix: 'check whether another operation owns this node; uncordon it if not',
      });
    }
  }
  const crashing = new Map<string, { subject: Finding['subject']; pods: string[] }>();
  for (const pod of snapshot.pods) {
    if (isMirrorPod(pod)) continue;
    const statuses = pod.status?.containerStatuses ?? [];
    const looping = statuses.some(
      (s) => s.state?.waiting?.reason === 'CrashLoopBackOff' || (s.restartCount ?? 0) >= restarts,
    );
    if (!looping) continue;
    const owner = model.ownerOf(pod);
    const subject = owner
      ? { kind: owner.kind, namespace: owner.namespace, name: owner.name }
      : { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name };
    const key = `${subject.kind}/${subject.namespace}/${subject.name}`;
    let entry = crashing.get(key);
    if (!entry) {
      entry = { subject, pods: [] };
      crashing.set(key, entry);
    }
    entry.pods.push(pod.metadata.name);
  }
  for (const { subject, pods } of crashing.values()) {
    findings.push({
      id: 'node-health',
      severity: 'warning',
      subject,
      message: `${pods.length} pod(s) crash-looping or restarting often (${listSome(pods)}) before the upgrade starts`,
      fix: 'fix them first, or note them so health gates do not blame the upgrade',
    });
  }
  return findings;
};
