/**
 * What a PodDisruptionBudget allows, now and by construction, computed the way the disruption controller
 * does (k/k pkg/controller/disruption): expected pods from the controllers' replicas, desiredHealthy from
 * minAvailable/maxUnavailable, disruptionsAllowed = currentHealthy − desiredHealthy (never below 0).
 */
import { type ClusterModel, isHealthyForBudget, podKey } from './cluster-model.ts';
import { scaledValue } from './intorstr.ts';
import type { Pod, PodDisruptionBudget } from './snapshot.ts';

export interface BudgetState {
  pdb: PodDisruptionBudget;
  /** namespace/name */
  key: string;
  pods: Pod[];
  /** Pods counted healthy: Ready and not terminating. */
  healthyPods: Pod[];
  expectedPods: number;
  desiredHealthy: number;
  /** Evictions the budget allows right now (status when the controller has observed the spec). */
  disruptionsAllowed: number;
  /** The spec alone forbids every voluntary disruption, whatever the pods' health (maxUnavailable 0 …). */
  blocksByConstruction: boolean;
  /** Pods the budget selects that no controller manages (the controller refuses to compute such budgets). */
  unmanagedPods: Pod[];
}

function replicasOfOwner(model: ClusterModel, pod: Pod): number | undefined {
  const owner = model.ownerOf(pod);
  if (!owner) return undefined;
  const w = model.workload(owner.kind, owner.namespace, owner.name);
  if (!w) return undefined;
  if (owner.kind === 'DaemonSet') return undefined;
  return w.spec?.replicas ?? 1;
}

/** Sum of the scale of every distinct controller behind the budget's pods. */
function expectedFromControllers(model: ClusterModel, pods: Pod[]): number {
  const seen = new Map<string, number>();
  for (const pod of pods) {
    const owner = model.ownerOf(pod);
    if (!owner) continue;
    const key = `${owner.kind}/${owner.namespace}/${owner.name}`;
    if (seen.has(key)) continue;
    seen.set(key, replicasOfOwner(model, pod) ?? pods.filter((p) => sameOwner(model, p, key)).length);
  }
  let total = 0;
  for (const n of seen.values()) total += n;
  return total;
}

function sameOwner(model: ClusterModel, pod: Pod, key: string): boolean {
  const o = model.ownerOf(pod);
  return !!o && `${o.kind}/${o.namespace}/${o.name}` === key;
}

export function analyseBudget(model: ClusterModel, pdb: PodDisruptionBudget): BudgetState {
  const pods = model.podsOfBudget(pdb);
  const healthyPods = pods.filter(isHealthyForBudget);
  const unmanagedPods = pods.filter((p) => !model.ownerOf(p));
  const { minAvailable, maxUnavailable } = pdb.spec;
  let expectedPods: number;
  let desiredHealthy: number;
  let blocksByConstruction = false;
  if (maxUnavailable !== undefined) {
    expectedPods = expectedFromControllers(model, pods);
    const unavailable = safeScaled(maxUnavailable, expectedPods, true);
    desiredHealthy = Math.max(0, expectedPods - unavailable);
    blocksByConstruction = unavailable === 0;
  } else if (
    typeof minAvailable === 'number' ||
    (typeof minAvailable === 'string' && !minAvailable.endsWith('%'))
  ) {
    expectedPods = pods.length;
    desiredHealthy = Number(minAvailable);
    const replicas = expectedFromControllers(model, pods);
    blocksByConstruction = desiredHealthy >= Math.max(replicas, 1);
  } else if (typeof minAvailable === 'string') {
    expectedPods = expectedFromControllers(model, pods);
    desiredHealthy = safeScaled(minAvailable, expectedPods, true);
    blocksByConstruction = desiredHealthy >= expectedPods;
  } else {
    // Neither field: the API defaults minAvailable to 1.
    expectedPods = pods.length;
    desiredHealthy = 1;
    blocksByConstruction = expectedFromControllers(model, pods) <= 1;
  }
  const computed = expectedPods <= 0 ? 0 : Math.max(0, healthyPods.length - desiredHealthy);
  const status = pdb.status;
  const statusIsCurrent =
    status?.disruptionsAllowed !== undefined &&
    (status.observedGeneration === undefined ||
      pdb.metadata.generation === undefined ||
      status.observedGeneration >= pdb.metadata.generation);
  return {
    pdb,
    key: podKey(pdb as unknown as Pod),
    pods,
    healthyPods,
    expectedPods,
    desiredHealthy,
    disruptionsAllowed: statusIsCurrent ? Math.max(0, status!.disruptionsAllowed!) : computed,
    blocksByConstruction,
    unmanagedPods,
  };
}

function safeScaled(value: number | string, total: number, roundUp: boolean): number {
  try {
    return scaledValue(value, total, roundUp);
  } catch {
    return 0;
  }
}

/** Budget states for every PDB, memoised per model. */
const cache = new WeakMap<ClusterModel, Map<PodDisruptionBudget, BudgetState>>();
export function budgetStatesOf(model: ClusterModel): Map<PodDisruptionBudget, BudgetState> {
  let states = cache.get(model);
  if (!states) {
    states = new Map(model.snapshot.pdbs.map((pdb) => [pdb, analyseBudget(model, pdb)]));
    cache.set(model, states);
  }
  return states;
}
