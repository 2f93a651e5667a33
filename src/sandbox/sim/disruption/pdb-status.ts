import {
  formatLabelSelector,
  type IntOrString,
  isPercent,
  type LabelSelector,
  matchesRequirements,
  type Requirement,
  requirementsOf,
  scaledValue,
} from '../../../core/index.ts';
import { R } from '../../api/resources.ts';
import { rfc3339 } from '../../store/deletion.ts';
import type { KubeObject, OwnerReference, ResourceKey } from '../../store/types.ts';
import { controllerRefOf, sameReference } from '../controllers/owner-refs.ts';
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
    if (selected.length === 0) events.push(noPodsEvent());
    const { expectedPods, desiredHealthy, unmanagedPods } = expectedAndDesired(pdb, selected.length, () =>
      expectedScale(pdb, selected, lookup),
    );
    if (unmanagedPods > 0) events.push(unmanagedPodsEvent(pdb));
    let byName: Map<string, PodFacts> | undefined;
    const { disruptedPods, recheckAt, expired } = liveDisruptedPods(
      pdb,
      (name) => {
        byName ??= new Map(selected.map((pod) => [pod.name, pod]));
        return byName.get(name);
      },
      now,
    );
    events.push(...notDeletedEvents(pdb, expired));
    const currentHealthy = countHealthyPods(selected, disruptedPods);
    const status = statusOf(pdb, { expectedPods, desiredHealthy, currentHealthy, disruptedPods }, now);
    return { status, recheckAt, events };
  } catch (err) {
    if (!(err instanceof SyncError)) throw err;
    return { status: failSafeStatus(pdb, err.message, now), syncError: err.message, events };
  }
}

/** What a budget's status needs of the pods it selects, counted rather than read one by one. */
export interface SelectedPodCounts {
  /** The pods the budget selects. */
  readonly selected: number;
  /** Of those, the ones Ready and not terminating. */
  readonly readyAndStaying: number;
  /** Of those, the ones without a controller reference. */
  readonly unmanaged: number;
  /** Every distinct controller reference among them (same uid, apiVersion, kind and name: one). */
  readonly refs: Iterable<OwnerReference>;
  /** The selected pod of this name (for the budget's disruptedPods entries), if any. */
  selectedPod(name: string): KubeObject | undefined;
}

/**
 * computePdbStatus's result from counts of the budget's pods (budget-tally.ts keeps them) instead of the pods
 * themselves; undefined when the sync fails, for computePdbStatus to name the pod at fault.
 */
export function computePdbStatusFromCounts(
  pdb: KubeObject,
  counts: SelectedPodCounts,
  lookup: WorkloadLookup,
  now: number,
): PdbStatusResult | undefined {
  const events: PdbEvent[] = [];
  try {
    if (counts.selected === 0) events.push(noPodsEvent());
    const { expectedPods, desiredHealthy, unmanagedPods } = expectedAndDesired(pdb, counts.selected, () =>
      countedScale(pdb, counts, lookup),
    );
    if (unmanagedPods > 0) events.push(unmanagedPodsEvent(pdb));
    let currentHealthy = counts.readyAndStaying;
    const { disruptedPods, recheckAt, expired } = liveDisruptedPods(
      pdb,
      (name) => {
        const pod = counts.selectedPod(name);
        return pod && podFacts(pod);
      },
      now,
    );
    events.push(...notDeletedEvents(pdb, expired));
    // The pods of live entries are neither terminating nor counted healthy (countHealthyPods).
    for (const name of Object.keys(disruptedPods))
      if (podFacts(counts.selectedPod(name)!).readyAndStaying) currentHealthy--;
    const status = statusOf(pdb, { expectedPods, desiredHealthy, currentHealthy, disruptedPods }, now);
    return { status, recheckAt, events };
  } catch (err) {
    if (err instanceof SyncError) return undefined;
    throw err;
  }
}

function notDeletedEvents(
  pdb: KubeObject,
  expired: Array<{ namespace: string; name: string; expected: string }>,
): PdbEvent[] {
  return expired.map((pod) => ({
    type: 'Warning',
    reason: 'NotDeleted',
    message: `Pod ${pod.namespace}/${pod.name} was expected to be deleted at ${pod.expected} but it wasn't, updating pdb ${pdb.metadata.namespace}/${pdb.metadata.name}`,
  }));
}

function noPodsEvent(): PdbEvent {
  return { type: 'Normal', reason: 'NoPods', message: 'No matching pods found' };
}

function statusOf(
  pdb: KubeObject,
  counts: {
    expectedPods: number;
    desiredHealthy: number;
    currentHealthy: number;
    disruptedPods: Record<string, string>;
  },
  now: number,
): PdbStatus {
  const { expectedPods, desiredHealthy, currentHealthy, disruptedPods } = counts;
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
  return status;
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

/**
 * The pods a budget selects, as their facts; an invalid selector is a sync error (the budget then fails safe).
 * Note: a budget's status is computed again from all its pods on each change to one of them, and most of
 * those pods are the same objects as last time: each remembers whether it matched the selector last tested
 * against it (see PodFacts.matchedBy), so only a new or changed pod is matched again.
 */
function selectPods(pdb: KubeObject, pods: readonly KubeObject[]): PodFacts[] {
  const selector = pdb.spec?.selector;
  const namespace = pdb.metadata.namespace;
  if (!selector) return [];
  // Note: as before, an invalid selector fails only once a pod of the namespace is tested against it.
  let requirements: Requirement[] | undefined;
  const selected: PodFacts[] = [];
  for (const pod of pods) {
    const facts = podFacts(pod);
    if (facts.namespace !== namespace) continue;
    requirements ??= selectorRequirements(selector);
    if (facts.matchedBy !== requirements) {
      facts.matchedBy = requirements;
      facts.matches = matchesRequirements(requirements, pod.metadata.labels);
    }
    if (facts.matches) selected.push(facts);
  }
  return selected;
}

/**
 * A selector's requirements, made once per selector object (a budget's status writes keep its spec, so its
 * selector stays the same object from one sync to the next). Exact because stored objects are never changed
 * in place.
 */
const requirementsBySelector = new WeakMap<object, Requirement[] | SyncError>();

function selectorRequirements(selector: LabelSelector): Requirement[] {
  let requirements = requirementsBySelector.get(selector);
  if (!requirements) {
    try {
      requirements = requirementsOf(selector);
    } catch (err) {
      requirements = new SyncError((err as Error).message);
    }
    requirementsBySelector.set(selector, requirements);
  }
  if (requirements instanceof SyncError) throw new SyncError(requirements.message);
  return requirements;
}

/**
 * @param selected how many pods the budget selects
 * @param scale the expected pod count from the pods' controllers, and how many pods have none; called only
 *   when the budget needs it (a percentage, or maxUnavailable)
 */
function expectedAndDesired(
  pdb: KubeObject,
  selected: number,
  scale: () => { expected: number; unmanagedPods: number },
): { expectedPods: number; desiredHealthy: number; unmanagedPods: number } {
  const maxUnavailable: IntOrString | undefined = pdb.spec?.maxUnavailable ?? undefined;
  const minAvailable: IntOrString | undefined = pdb.spec?.minAvailable ?? undefined;
  if (maxUnavailable !== undefined) {
    // Note: 3 replicas with maxUnavailable 50% → ceil(1.5) = 2 may be down → desiredHealthy 1.
    const { expected, unmanagedPods } = scale();
    const unavailable = resolve(maxUnavailable, expected);
    return { expectedPods: expected, desiredHealthy: Math.max(0, expected - unavailable), unmanagedPods };
  }
  if (minAvailable !== undefined) {
    if (!isPercent(minAvailable)) {
      return { expectedPods: selected, desiredHealthy: resolve(minAvailable, 0), unmanagedPods: 0 };
    }
    // Note: minAvailable 20% of 10 replicas → ceil(2.0) = 2 healthy pods needed.
    const { expected, unmanagedPods } = scale();
    return { expectedPods: expected, desiredHealthy: resolve(minAvailable, expected), unmanagedPods };
  }
  return { expectedPods: 0, desiredHealthy: 0, unmanagedPods: 0 };
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
  pods: PodFacts[],
  lookup: WorkloadLookup,
): { expected: number; unmanagedPods: number } {
  const scales = new Map<string, number>();
  let unmanagedPods = 0;
  const namespace = pdb.metadata.namespace ?? '';
  // Note: a budget's pods share a few controllers; each reference is looked up once (its controller and,
  // for a ReplicaSet, the Deployment above it are two reads per pod otherwise).
  // Filed by the reference's uid (no key string built per pod); a uid named with another kind or name is
  // a different reference, looked up on its own. Pods of one controller mostly come one after another, so
  // the previous pod's reference is tried first.
  const resolved = new Map<string, Array<{ ref: OwnerReference; uid: string; scale: number }>>();
  let previous: { ref: OwnerReference; uid: string; scale: number } | undefined;
  for (const pod of pods) {
    const { ref } = pod;
    if (!ref) {
      unmanagedPods++;
      continue;
    }
    if (previous && sameReference(previous.ref, ref)) continue;
    let sameUid = resolved.get(ref.uid);
    if (!sameUid) {
      sameUid = [];
      resolved.set(ref.uid, sameUid);
    }
    let found = sameUid.find((r) => sameReference(r.ref, ref));
    if (!found) {
      const scale = controllerScale(ref, namespace, lookup);
      if (!scale) throw new SyncError(`found no controllers for pod "${pod.name}"`);
      found = { ref, ...scale };
      sameUid.push(found);
    }
    scales.set(found.uid, found.scale);
    previous = found;
  }
  let expected = 0;
  for (const scale of scales.values()) expected += scale;
  return { expected, unmanagedPods };
}

/** expectedScale from the distinct references; one whose controller is missing is a sync error. */
function countedScale(
  pdb: KubeObject,
  counts: SelectedPodCounts,
  lookup: WorkloadLookup,
): { expected: number; unmanagedPods: number } {
  const scales = new Map<string, number>();
  const namespace = pdb.metadata.namespace ?? '';
  for (const ref of counts.refs) {
    const scale = controllerScale(ref, namespace, lookup);
    if (!scale) throw new SyncError('a pod without its controller');
    scales.set(scale.uid, scale.scale);
  }
  let expected = 0;
  for (const scale of scales.values()) expected += scale;
  return { expected, unmanagedPods: counts.unmanaged };
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
  podNamed: (name: string) => PodFacts | undefined,
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
  // Note: entries are kept in the order they were recorded (JSON object order; upstream's Go map has none).
  for (const [name, since] of Object.entries(previous)) {
    const pod = podNamed(name);
    if (!pod || pod.terminating) continue;
    const expectedDeletion = Date.parse(since) + DISRUPTED_POD_TIMEOUT_MS;
    if (expectedDeletion <= now) {
      expired.push({ namespace: pod.namespace ?? '', name, expected: rfc3339(expectedDeletion) });
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

/** What a budget's status reads of a pod. */
export interface PodFacts {
  readonly namespace: string | undefined;
  readonly name: string;
  /** Its controller reference. */
  readonly ref: OwnerReference | undefined;
  readonly terminating: boolean;
  /** Ready and not terminating. */
  readonly readyAndStaying: boolean;
  /** The requirements this pod was last matched against (see selectPods), and whether it matched them. */
  matchedBy?: Requirement[];
  matches?: boolean;
}

/**
 * Facts per pod object, read once: a budget's status is computed again from all its pods on each change to
 * one of them (tens to thousands of pods, several times per pod an upgrade moves), and reading them anew
 * from the objects each time was most of that cost. IMPORTANT: exact only because a pod object is never
 * changed in place (the store replaces it on every write; see lazy-draft.ts).
 */
const factsByPod = new WeakMap<KubeObject, PodFacts>();

export function podFacts(pod: KubeObject): PodFacts {
  let facts = factsByPod.get(pod);
  if (!facts) {
    const terminating = Boolean(pod.metadata.deletionTimestamp);
    facts = {
      namespace: pod.metadata.namespace,
      name: pod.metadata.name ?? '',
      ref: controllerRefOf(pod),
      terminating,
      readyAndStaying: !terminating && isPodReady(pod),
    };
    factsByPod.set(pod, facts);
  }
  return facts;
}

function countHealthyPods(pods: PodFacts[], disruptedPods: Record<string, string>): number {
  let healthy = 0;
  for (const pod of pods) if (pod.readyAndStaying && !disruptedPods[pod.name]) healthy++;
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
