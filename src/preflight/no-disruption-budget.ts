import { clusterModelOf } from '../core/index.ts';
import type { Finding, PreflightCheck } from './finding.ts';

/**
 * `no-disruption-budget`: Deployments and StatefulSets the drain may take down all at once (several replicas,
 * no budget), and single-replica ones that will have downtime whatever the budget says.
 */
export const checkNoDisruptionBudget: PreflightCheck = (snapshot, _target, options) => {
  const model = clusterModelOf(snapshot, options.poolLabel);
  const findings: Finding[] = [];
  for (const w of snapshot.workloads) {
    if (w.kind !== 'Deployment' && w.kind !== 'StatefulSet') continue;
    const replicas = w.spec?.replicas ?? 1;
    if (replicas === 0) continue;
    const subject = { kind: w.kind, namespace: w.metadata.namespace, name: w.metadata.name };
    if (replicas === 1) {
      findings.push({
        id: 'no-disruption-budget',
        severity: 'warning',
        subject,
        message: 'runs a single replica: it is down while its pod moves off a drained node',
        fix: 'run at least 2 replicas with a PodDisruptionBudget (maxUnavailable: 1) if it must stay up',
      });
      continue;
    }
    const labels = w.spec?.template?.metadata?.labels;
    if (model.budgetsMatching(w.metadata.namespace ?? 'default', labels).length === 0) {
      findings.push({
        id: 'no-disruption-budget',
        severity: 'warning',
        subject,
        message: `has ${replicas} replicas and no PodDisruptionBudget: nodes drained together may evict all of them at once`,
        fix: `add a PodDisruptionBudget selecting its pods, e.g. maxUnavailable: 1`,
      });
    }
  }
  return findings;
};
