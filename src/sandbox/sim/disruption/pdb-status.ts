import {
  formatLabelSelector,
  type IntOrString,
  isPercent,
  matchesRequirements,
  type Requirement,
  requirementsOf,
  scaledValue,
} from '../../../core/index.ts';
import { R } from '../../api/resources.ts';
import { rfc3339 } from '../../store/deletion.ts';
import type { KubeObject, OwnerReference, ResourceKey } from '../../store/types.ts';
import { controllerRefOf } from '../controllers/owner-refs.ts';
import { isPodReady } from '../controllers/pod-state.ts';

/**
 * A PodDisruptionBudget's status, computed exactly as the disruption controller's trySync does
 * (k/k pkg/controller/disruption/disruption.go). Pure: the caller supplies the pods, a way to read the
 * workloads that own them, and the time.
 */

/** How long an eviction's `disruptedPods` entry keeps a pod out of the healthy count (DeletionTimeout). */
export const DISRUPTED_POD_TIMEOUT_MS = 2 * 60 * 1000;

export interface DisruptionCondition {
  type: 'DisruptionAllowed';
  status: 'True' | 'False';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: 'SufficientPods' | 'InsufficientPods' | 'SyncFailed';
  message: string;
}

export interface PdbStatus {
  observedGeneration?: number;
  disruptedPods?: Record<string, string>;
  disruptionsAllowed: number;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  conditions?: DisruptionCondition[];
}

export interface PdbEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface PdbStatusResult {
  status: PdbStatus;
  /** Set when the status could not be computed: the budget then allows no disruption (failSafe). */
  syncError?: string;
  /** When the earliest live `disruptedPods` entry expires and the status must be computed again. */
  recheckAt?: number;
  events: PdbEvent[];
}

/** Reads a workload (ReplicaSet, Deployment, StatefulSet) by store resource key, namespace and name. */
export type WorkloadLookup = (
  resource: ResourceKey,
  namespace: string,
  name: string,
) => KubeObject | undefined;

class SyncError extends Error {}

/**
 * @param pods candidate pods of the budget's namespace; those the selector does not match are ignored.
 */
export function computePdbStatus(
  pdb: KubeObject,
  pods: readonly KubeObject[],
  lookup: WorkloadLookup,
  now: number,
): PdbStatusResult {
  const events: PdbEvent[] = [];
  try {
    const selected = selectPods(pdb, pods);
    if (selected.length === 0)
      events.push({ type: 'Normal', reason: 'NoPods', message: 'No matching pods found' });
    const { expectedPods, desiredHealthy, unmanagedPods } = expectedAndDesired(pdb, selected, lookup);
    if (unmanagedPods.length > 0) events.push(unmanagedPodsEvent(pdb));
    const { disruptedPods, recheckAt, expired } = liveDisruptedPods(pdb, selected, now);
    for (const pod of expired) {
      events.push({
        type: 'Warning',
        reason: 'NotDeleted',
        message: `Pod ${pod.namespace}/${pod.name} was expected to be deleted at ${pod.expected} but it wasn't, updating pdb ${pdb.metadata.namespace}/${pdb.metadata.name}`,
      });
    }
    const currentHealthy = countHealthyPods(selected, disruptedPods);
    let disruptionsAllowed = currentHealthy - desiredHealthy;
    if (expectedPods <= 0 || disruptionsAllowed <= 0) disruptionsAllowed = 0;
    const observedGeneration = pdb.metadata.generation;
    const status: PdbStatus = {
      ...(observedGeneration ? { observedGeneration } : {}),
      ...(Object.keys(disruptedPods).length ? { disruptedPods } : {}),
      disruptionsAllowed,
      currentHealthy,
      desiredHealthy,
      expectedPods,
    };
    status.conditions = withDisruptionCondition(pdb.status?.conditions, status, now);
    return { status, recheckAt, events };
  } catch (err) {
    if (!(err instanceof SyncError)) throw err;
    return { status: failSafeStatus(pdb, err.message, now), syncError: err.message, events };
  }
}

/**
 * What failSafe writes when the status cannot be computed: no disruption allowed, condition SyncFailed.
 * IMPORTANT: observedGeneration is left as it was, as upstream does, so a budget that never synced keeps
 * evictions answering "still being processed".
 */
export function failSafeStatus(pdb: KubeObject, message: string, now: number): PdbStatus {
  const previous: Partial<PdbStatus> = pdb.status ?? {};
  const status: PdbStatus = {
    ...(previous.observedGeneration ? { observedGeneration: previous.observedGeneration } : {}),
    ...(previous.disruptedPods ? { disruptedPods: previous.disruptedPods } : {}),
    disruptionsAllowed: 0,
    currentHealthy: previous.currentHealthy ?? 0,
    desiredHealthy: previous.desiredHealthy ?? 0,
    expectedPods: previous.expectedPods ?? 0,
  };
  status.conditions = setCondition(previous.conditions, now, {
    type: 'DisruptionAllowed',
    status: 'False',
    observedGeneration: status.observedGeneration,
    reason: 'SyncFailed',
    message,
  });
  return status;
}

/**
 * The DisruptionAllowed condition for a status (component-helpers UpdateDisruptionAllowedCondition), keeping
 * lastTransitionTime when the status did not flip.
 */
export function withDisruptionCondition(
  previous: DisruptionCondition[] | undefined,
  status: PdbStatus,
  now: number,
): DisruptionCondition[] {
  const allowed = status.disruptionsAllowed > 0;
  return setCondition(previous, now, {
    type: 'DisruptionAllowed',
    status: allowed ? 'True' : 'False',
    observedGeneration: status.observedGeneration,
    reason: allowed ? 'SufficientPods' : 'InsufficientPods',
    message: '',
  });
}

function setCondition(
  previous: DisruptionCondition[] | undefined,
  now: number,
  next: Omit<DisruptionCondition, 'lastTransitionTime'>,
): DisruptionCondition[] {
  const others = (previous ?? []).filter((c) => c.type !== next.type);
  const old = previous?.find((c) => c.type === next.type);
  const lastTransitionTime = old && old.status === next.status ? old.lastTransitionTime : rfc3339(now);
  const condition: DisruptionCondition = {
    type: next.type,
    status: next.status,
    ...(next.observedGeneration ? { observedGeneration: next.observedGeneration } : {}),
    lastTransitionTime,
    reason: next.reason,
    message: next.message,
  };
  return [...others, condition];
}

/** The pods a budget selects; an invalid selector is a sync error (the budget then fails safe). */
export function selectPods(pdb: KubeObject, pods: readonly KubeObject[]): KubeObject[] {
  const selector = pdb.spec?.selector;
  const namespace = pdb.metadata.namespace;
  if (!selector) return [];
  // Note: the selector is turned into requirements once per sync, not once per pod (a budget selects up to
  // thousands); as before, an invalid one fails only once a pod of the namespace is tested against it.
  let requirements: Requirement[] | undefined;
  const selected: KubeObject[] = [];
  for (const pod of pods) {
    if (pod.metadata.namespace !== namespace) continue;
    try {
      requirements ??= requirementsOf(selector);
    } catch (err) {
      throw new SyncError((err as Error).message);
    }
    if (matchesRequirements(requirements, pod.metadata.labels)) selected.push(pod);
  }
  return selected;
}

function expectedAndDesired(
  pdb: KubeObject,
  pods: KubeObject[],
  lookup: WorkloadLookup,
): { expectedPods: number; desiredHealthy: number; unmanagedPods: string[] } {
  const maxUnavailable: IntOrString | undefined = pdb.spec?.maxUnavailable ?? undefined;
  const minAvailable: IntOrString | undefined = pdb.spec?.minAvailable ?? undefined;
  if (maxUnavailable !== undefined) {
    // Note: 3 replicas with maxUnavailable 50% → ceil(1.5) = 2 may be down → desiredHealthy 1.
    const { expected, unmanagedPods } = expectedScale(pdb, pods, lookup);
    const unavailable = resolve(maxUnavailable, expected);
    return { expectedPods: expected, desiredHealthy: Math.max(0, expected - unavailable), unmanagedPods };
  }
  if (minAvailable !== undefined) {
    if (!isPercent(minAvailable)) {
      return { expectedPods: pods.length, desiredHealthy: resolve(minAvailable, 0), unmanagedPods: [] };
    }
    // Note: minAvailable 20% of 10 replicas → ceil(2.0) = 2 healthy pods needed.
    const { expected, unmanagedPods } = expectedScale(pdb, pods, lookup);
    return { expectedPods: expected, desiredHealthy: resolve(minAvailable, expected), unmanagedPods };
  }
  return { expectedPods: 0, desiredHealthy: 0, unmanagedPods: [] };
}

function resolve(value: IntOrString, total: number): number {
  try {
    return scaledValue(value, total, true);
  } catch (err) {
    throw new SyncError((err as Error).message);
  }
}

/** Sum of the scales of the distinct controllers of the pods (Deployment via its ReplicaSet). */
function expectedScale(
  pdb: KubeObject,
  pods: KubeObject[],
  lookup: WorkloadLookup,
): { expected: number; unmanagedPods: string[] } {
  const scales = new Map<string, number>();
  const unmanagedPods: string[] = [];
  const namespace = pdb.metadata.namespace ?? '';
  // Note: a budget's pods share a few controllers; each reference is looked up once (its controller and,
  // for a ReplicaSet, the Deployment above it are two reads per pod otherwise).
  // Filed by the reference's uid (no key string built per pod); a uid named with another kind or name is
  // a different reference, looked up on its own.
  const resolved = new Map<string, Array<{ ref: OwnerReference; uid: string; scale: number }>>();
  for (const pod of pods) {
    const { ref } = podFacts(pod);
    if (!ref) {
      unmanagedPods.push(pod.metadata.name ?? '');
      continue;
    }
    let sameUid = resolved.get(ref.uid);
    if (!sameUid) {
      sameUid = [];
      resolved.set(ref.uid, sameUid);
    }
    let found = sameUid.find((r) => sameReference(r.ref, ref));
    if (!found) {
      const scale = controllerScale(ref, namespace, lookup);
      if (!scale) throw new SyncError(`found no controllers for pod "${pod.metadata.name}"`);
      found = { ref, ...scale };
      sameUid.push(found);
    }
    scales.set(found.uid, found.scale);
  }
  let expected = 0;
  for (const scale of scales.values()) expected += scale;
  return { expected, unmanagedPods };
}

function sameReference(a: OwnerReference, b: OwnerReference): boolean {
  return a.apiVersion === b.apiVersion && a.kind === b.kind && a.name === b.name;
}

function controllerScale(
  ref: OwnerReference,
  namespace: string,
  lookup: WorkloadLookup,
): { uid: string; scale: number } | undefined {
  const group = ref.apiVersion.split('/')[0];
  if (ref.kind === 'ReplicaSet' && (group === 'apps' || group === 'extensions')) {
    const rs = lookup(R.replicasets, namespace, ref.name);
    if (!rs || rs.metadata.uid !== ref.uid) return undefined;
    const owner = controllerRefOf(rs);
    if (owner?.kind !== 'Deployment') return { uid: ref.uid, scale: rs.spec?.replicas ?? 1 };
    const deployment = lookup(R.deployments, namespace, owner.name);
    if (!deployment || deployment.metadata.uid !== owner.uid) return undefined;
    return { uid: owner.uid, scale: deployment.spec?.replicas ?? 1 };
  }
  if (ref.kind === 'StatefulSet' && group === 'apps') {
    const sts = lookup(R.statefulsets, namespace, ref.name);
    if (!sts || sts.metadata.uid !== ref.uid) return undefined;
    return { uid: ref.uid, scale: sts.spec?.replicas ?? 1 };
  }
  return undefined;
}

/**
 * Entries of status.disruptedPods still in force: the pod is still selected, not yet terminating, and its
 * eviction is less than DISRUPTED_POD_TIMEOUT_MS old.
 */
function liveDisruptedPods(
  pdb: KubeObject,
  pods: KubeObject[],
  now: number,
): {
  disruptedPods: Record<string, string>;
  recheckAt?: number;
  expired: Array<{ namespace: string; name: string; expected: string }>;
} {
  const previous: Record<string, string> = pdb.status?.disruptedPods ?? {};
  const disruptedPods: Record<string, string> = {};
  const expired: Array<{ namespace: string; name: string; expected: string }> = [];
  let recheckAt: number | undefined;
  // Most syncs find no eviction in force: nothing to look up per pod then.
  if (Object.keys(previous).length === 0) return { disruptedPods, recheckAt, expired };
  for (const pod of pods) {
    const name = pod.metadata.name ?? '';
    if (pod.metadata.deletionTimestamp) continue;
    const since = previous[name];
    if (since === undefined) continue;
    const expectedDeletion = Date.parse(since) + DISRUPTED_POD_TIMEOUT_MS;
    if (expectedDeletion <= now) {
      expired.push({ namespace: pod.metadata.namespace ?? '', name, expected: rfc3339(expectedDeletion) });
      continue;
    }
    if (recheckAt === undefined || expectedDeletion < recheckAt) recheckAt = expectedDeletion;
    disruptedPods[name] = since;
  }
  return { disruptedPods, recheckAt, expired };
}

/** Ready, not terminating, and not just evicted: the pods a budget counts as healthy. */
export function countsAsHealthy(pod: KubeObject, disruptedPods: Record<string, string> | undefined): boolean {
  const facts = podFacts(pod);
  return facts.readyAndStaying && !disruptedPods?.[facts.name];
}

/** What a budget's status reads of a pod, besides its namespace and labels. */
interface PodFacts {
  readonly name: string;
  /** Its controller reference. */
  readonly ref: OwnerReference | undefined;
  /** Ready and not terminating. */
  readonly readyAndStaying: boolean;
}

/**
 * Facts per pod object, read once: a budget's status is computed again from all its pods on each change to
 * one of them (tens to thousands of pods, several times per pod an upgrade moves), and reading them anew
 * from the objects each time was most of that cost. IMPORTANT: exact only because a pod object is never
 * changed in place (the store replaces it on every write; see lazy-draft.ts).
 */
const factsByPod = new WeakMap<KubeObject, PodFacts>();

function podFacts(pod: KubeObject): PodFacts {
  let facts = factsByPod.get(pod);
  if (!facts) {
    facts = {
      name: pod.metadata.name ?? '',
      ref: controllerRefOf(pod),
      readyAndStaying: !pod.metadata.deletionTimestamp && isPodReady(pod),
    };
    factsByPod.set(pod, facts);
  }
  return facts;
}

function countHealthyPods(pods: KubeObject[], disruptedPods: Record<string, string>): number {
  let healthy = 0;
  for (const pod of pods) if (countsAsHealthy(pod, disruptedPods)) healthy++;
  return healthy;
}

function unmanagedPodsEvent(pdb: KubeObject): PdbEvent {
  let selector = '';
  try {
    selector = formatLabelSelector(pdb.spec?.selector ?? {});
  } catch {
    selector = JSON.stringify(pdb.spec?.selector);
  }
  return {
    type: 'Warning',
    reason: 'UnmanagedPods',
    message:
      `Pods selected by this PodDisruptionBudget (selector: ${selector}) were found to be unmanaged. ` +
      'As a result, the status of the PDB cannot be calculated correctly, which may result in undefined ' +
      'behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.',
  };
}
