import {
  budgetStatesOf,
  clusterModelOf,
  isEvictable,
  type PodDisruptionBudget,
  podKey,
} from '../core/index.ts';
import { type Finding, listSome, type PreflightCheck } from './finding.ts';

/**
 * `pdb-blocks-drain`: budgets that stop a drain. By construction (maxUnavailable 0, minAvailable equal to
 * the replicas) the drain can never finish; at 0 allowed now it waits until pods recover; budgets over
 * unmanaged pods; and pods covered by several budgets, which the eviction API refuses outright (HTTP 500).
 */
export const checkPdbBlocksDrain: PreflightCheck = (snapshot, _target, options) => {
  const model = clusterModelOf(snapshot, options.poolLabel);
  const findings: Finding[] = [];
  const subjectOf = (pdb: PodDisruptionBudget) => ({
    kind: 'PodDisruptionBudget',
    namespace: pdb.metadata.namespace,
    name: pdb.metadata.name,
  });
  for (const state of budgetStatesOf(model).values()) {
    const onNodes = state.pods.filter((p) => p.spec.nodeName && isEvictable(p));
    if (onNodes.length === 0) continue;
    const spec = state.pdb.spec;
    const rule =
      spec.maxUnavailable !== undefined
        ? `maxUnavailable ${spec.maxUnavailable}`
        : `minAvailable ${spec.minAvailable ?? 1}`;
    if (state.blocksByConstruction) {
      findings.push({
        id: 'pdb-blocks-drain',
        severity: 'blocker',
        subject: subjectOf(state.pdb),
        message:
          `${rule} with ${state.expectedPods} expected pod(s) never allows an eviction: draining any of the ` +
          `nodes hosting its pods (${listSome([...new Set(onNodes.map((p) => p.spec.nodeName!))])}) cannot finish`,
        fix: 'scale the workload up or relax the budget (e.g. maxUnavailable: 1) for the upgrade; or set drain.onTimeout',
      });
    } else if (state.disruptionsAllowed === 0) {
      findings.push({
        id: 'pdb-blocks-drain',
        severity: 'warning',
        subject: subjectOf(state.pdb),
        message:
          `allows 0 disruptions now (${state.healthyPods.length} healthy, ${state.desiredHealthy} required): ` +
          'drains of its nodes will wait until its pods are healthy again',
        fix: 'fix the unhealthy pods it selects before starting',
      });
    }
    if (state.unmanagedPods.length > 0) {
      findings.push({
        id: 'pdb-blocks-drain',
        severity: 'warning',
        subject: subjectOf(state.pdb),
        message: `selects ${state.unmanagedPods.length} pod(s) no controller manages (${listSome(state.unmanagedPods.map(podKey))}); the disruption controller cannot count them and evicted ones never come back`,
        fix: 'run these pods under a Deployment or StatefulSet, or narrow the budget selector',
      });
    }
  }
  const multiple = snapshot.pods.filter(
    (p) => p.spec.nodeName && isEvictable(p) && model.budgetsOf(p).length > 1,
  );
  for (const pod of multiple.slice(0, 50)) {
    findings.push({
      id: 'pdb-blocks-drain',
      severity: 'blocker',
      subject: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name },
      message: `is selected by ${model.budgetsOf(pod).length} budgets (${model
        .budgetsOf(pod)
        .map((b) => b.metadata.name)
        .join(', ')}); the eviction API refuses pods with more than one budget`,
      fix: 'make the budgets select disjoint pods',
    });
  }
  return findings;
};
