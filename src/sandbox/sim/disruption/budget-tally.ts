import { matchesRequirements, type Requirement, requirementsOf } from '../../../core/index.ts';
import { R } from '../../api/resources.ts';
import { sameJson } from '../../store/json-value.ts';
import type { ObjectStore } from '../../store/object-store.ts';
import type { KubeObject, OwnerReference, StoreEvent } from '../../store/types.ts';
import { sameReference } from '../controllers/owner-refs.ts';
import { budgetIndex } from './budget-index.ts';
import {
  computePdbStatus,
  computePdbStatusFromCounts,
  type PdbStatusResult,
  podFacts,
  type SelectedPodCounts,
  type WorkloadLookup,
} from './pdb-status.ts';

/**
 * A PodDisruptionBudget's status, as computePdbStatus makes it from the budget's candidate pods, but from
 * running counts of its pods (BudgetTallies) whenever those suffice.
 * Why: a budget's status is computed after each change to one of its pods, and again for each eviction
 * (eviction.ts measures violations afresh): several times per pod an upgrade moves, each a walk over the
 * budget's tens to hundreds of pods, which was a twentieth of a large rehearsal's CPU.
 */
export function budgetStatus(store: ObjectStore, pdb: KubeObject, now: number): PdbStatusResult {
  const tallies = budgetTallies(store);
  const counts = tallies.countsOf(pdb);
  return (
    (counts && computePdbStatusFromCounts(pdb, counts, tallies.lookup, now)) ??
    computePdbStatus(pdb, budgetIndex(store).candidatePods(pdb), tallies.lookup, now)
  );
}

/** The counts of one budget's pods, and the selector they were counted for. */
interface Tally extends SelectedPodCounts {
  readonly selector: object;
  readonly requirements: Requirement[];
  selected: number;
  readyAndStaying: number;
  unmanaged: number;
  /** Pods per distinct controller reference, filed by refKey. */
  readonly byRef: Map<string, { ref: OwnerReference; pods: number }>;
}

/**
 * Per budget, the counts computePdbStatusFromCounts needs of the pods it selects, kept current from the
 * store's change feed: a budget's counts are made from its candidate pods the first time they are asked
 * for, then each pod change that can move them (readiness, termination, controller, labels) moves them.
 * A budget whose selector changes is counted afresh on the next ask; one with no selector, or an invalid
 * one, is not counted (computePdbStatus handles it).
 * IMPORTANT: exact only because every pod change goes through the store's writes (listeners run
 * synchronously, so no change can fall between a count and the changes after it).
 */
export class BudgetTallies {
  /** Budget "namespace/name" → its counts. */
  private readonly tallies = new Map<string, Tally>();
  /** The store's workloads, for the budgets' expected pod counts (made once: a status is made per pod change). */
  readonly lookup: WorkloadLookup;

  constructor(private readonly store: ObjectStore) {
    this.lookup = (resource, namespace, name) => store.get(resource, namespace, name);
    // Note: the budget index subscribes first, so its candidates are current when this listener runs.
    budgetIndex(store);
    store.onChange((event) => {
      try {
        if (event.resource === R.pods) this.onPod(event);
        else if (event.resource === R.pdbs) this.onBudget(event);
      } catch {
        // Note: a malformed object that reached the store (say, ownerReferences not a list) must not fail the
        // write that stored it. The counts are dropped instead: the next status is counted afresh, and that
        // walk meets the same object in the disruption controller's sync, which reports it (contain-errors.ts).
        this.tallies.clear();
      }
    });
  }

  /** The counts of the pods `pdb` selects; undefined when it has no selector or an invalid one. */
  countsOf(pdb: KubeObject): SelectedPodCounts | undefined {
    const selector = pdb.spec?.selector;
    if (!selector) return undefined;
    const key = budgetKey(pdb);
    const known = this.tallies.get(key);
    if (known?.selector === selector) return known;
    let requirements: Requirement[];
    try {
      requirements = requirementsOf(selector);
    } catch {
      return undefined;
    }
    const byRef = new Map<string, { ref: OwnerReference; pods: number }>();
    const namespace = pdb.metadata.namespace;
    const tally: Tally = {
      selector,
      requirements,
      selected: 0,
      readyAndStaying: 0,
      unmanaged: 0,
      byRef,
      refs: {
        *[Symbol.iterator]() {
          for (const { ref } of byRef.values()) yield ref;
        },
      },
      selectedPod: (name) => {
        const pod = this.store.get(R.pods, namespace, name);
        return pod && selects(tally, namespace, pod) ? pod : undefined;
      },
    };
    for (const pod of budgetIndex(this.store).candidatePods(pdb))
      if (selects(tally, namespace, pod)) count(tally, pod, 1);
    this.tallies.set(key, tally);
    return tally;
  }

  private onBudget(event: StoreEvent): void {
    const key = budgetKey(event.object);
    // Note: most budget writes are status writes, which keep the spec (and the selector) as it was.
    if (event.type === 'DELETED' || this.tallies.get(key)?.selector !== event.object.spec?.selector)
      this.tallies.delete(key);
  }

  private onPod(event: StoreEvent): void {
    if (this.tallies.size === 0) return;
    const before = event.type === 'ADDED' ? undefined : event.previous;
    const after = event.type === 'DELETED' ? undefined : event.object;
    if (before && after && !countedChange(before, after)) return;
    const index = budgetIndex(this.store);
    const budgets = new Set<KubeObject>();
    if (before) for (const pdb of index.candidateBudgets(before)) budgets.add(pdb);
    if (after) for (const pdb of index.candidateBudgets(after)) budgets.add(pdb);
    for (const pdb of budgets) {
      const tally = this.tallies.get(budgetKey(pdb));
      if (!tally) continue;
      const namespace = pdb.metadata.namespace;
      if (before && selects(tally, namespace, before)) count(tally, before, -1);
      if (after && selects(tally, namespace, after)) count(tally, after, 1);
    }
  }
}

function selects(tally: Tally, namespace: string | undefined, pod: KubeObject): boolean {
  return pod.metadata.namespace === namespace && matchesRequirements(tally.requirements, pod.metadata.labels);
}

/** Counts a pod in (`sign` 1) or out (-1). */
function count(tally: Tally, pod: KubeObject, sign: 1 | -1): void {
  const { readyAndStaying, ref } = podFacts(pod);
  tally.selected += sign;
  if (readyAndStaying) tally.readyAndStaying += sign;
  if (!ref) {
    tally.unmanaged += sign;
    return;
  }
  const key = refKey(ref);
  const known = tally.byRef.get(key);
  if (sign > 0) {
    if (known) known.pods++;
    else tally.byRef.set(key, { ref, pods: 1 });
  } else if (known && --known.pods === 0) {
    tally.byRef.delete(key);
  }
}

/** Whether a pod change can move a budget's counts: readiness, termination, its controller, its labels. */
function countedChange(before: KubeObject, after: KubeObject): boolean {
  const was = podFacts(before);
  const is = podFacts(after);
  return (
    was.readyAndStaying !== is.readyAndStaying ||
    !sameReference(was.ref, is.ref) ||
    !sameJson(before.metadata.labels ?? {}, after.metadata.labels ?? {})
  );
}

/** The identity of a controller reference, as computePdbStatus tells references apart. */
function refKey(ref: OwnerReference): string {
  return `${ref.uid}\u0000${ref.apiVersion}\u0000${ref.kind}\u0000${ref.name}`;
}

function budgetKey(pdb: KubeObject): string {
  return `${pdb.metadata.namespace ?? ''}/${pdb.metadata.name ?? ''}`;
}

const tallies = new WeakMap<ObjectStore, BudgetTallies>();

/** The shared budget tallies of `store`, made on first use (they live as long as the store). */
export function budgetTallies(store: ObjectStore): BudgetTallies {
  let known = tallies.get(store);
  if (!known) {
    known = new BudgetTallies(store);
    tallies.set(store, known);
  }
  return known;
}
