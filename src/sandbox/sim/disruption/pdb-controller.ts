import { matchesLabelSelector } from '../../../core/index.ts';
import { R } from '../../api/resources.ts';
import type { Actor, SandboxContext } from '../../context.ts';
import { sameJson } from '../../store/json-value.ts';
import type { KubeObject, StoreEvent } from '../../store/types.ts';
import { contained, reportSimulationError } from '../contain-errors.ts';
import { controllerRefOf } from '../controllers/owner-refs.ts';
import { isPodReady } from '../controllers/pod-state.ts';
import { queueKey, splitQueueKey, WorkQueue } from '../controllers/work-queue.ts';
import { budgetIndex } from './budget-index.ts';
import { budgetStatus, budgetTallies } from './budget-tally.ts';
import { namespaceIndex } from './namespace-index.ts';
import type { PdbEvent, PdbStatus } from './pdb-status.ts';

const SOURCE = 'controllermanager';
const WORKLOADS = new Set<string>([R.deployments, R.replicasets, R.statefulsets]);

/**
 * Keeps every PodDisruptionBudget's status current (the disruption controller): on changes to the budget,
 * to the pods it selects and to the workloads whose scale sets its expected pod count, and again when an
 * eviction's disruptedPods entry expires.
 */
export class PdbController implements Actor {
  readonly name = 'disruption-controller';
  private readonly queue: WorkQueue;
  private unsubscribe: (() => void) | undefined;
  /** Event reasons already reported per budget uid, so a sync loop does not repeat the same event. */
  private readonly reported = new Map<string, Set<string>>();
  /** The queue key of the budget whose status sync() is writing, while it writes. */
  private writing: string | undefined;

  constructor(private readonly ctx: SandboxContext) {
    this.queue = new WorkQueue(ctx.clock, (key) => this.sync(key), {
      onError: (_key, err) => reportSimulationError(ctx, this.name, err),
    });
  }

  start(): void {
    const { store } = this.ctx;
    namespaceIndex(store, R.pods);
    namespaceIndex(store, R.pdbs);
    budgetIndex(store);
    budgetTallies(store);
    this.unsubscribe = store.onChange(contained(this.ctx, this.name, (event) => this.onChange(event)));
    for (const pdb of store.list(R.pdbs)) this.queue.add(queueKey(pdb.metadata.namespace, pdb.metadata.name));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.queue.stop();
  }

  private onChange(event: StoreEvent): void {
    const { resource, object, previous } = event;
    if (resource === R.pdbs) {
      const key = queueKey(object.metadata.namespace, object.metadata.name);
      // Note: the status this controller just wrote is what a sync now would compute again (same pods, same
      // instant); only others' writes (the budget's spec, an eviction's disruptedPods entry) need one.
      if (key !== this.writing) this.queue.add(key);
      if (event.type === 'DELETED') this.reported.delete(object.metadata.uid ?? '');
    } else if (resource === R.pods) {
      // Note: most pod writes (status details, kubelet bookkeeping) change nothing a budget counts.
      if (previous && event.type === 'MODIFIED' && !budgetRelevantChange(previous, object)) return;
      this.enqueueBudgetsSelecting(object);
      if (previous && !sameLabels(previous, object)) this.enqueueBudgetsSelecting(previous);
    } else if (WORKLOADS.has(resource)) {
      if (event.type === 'MODIFIED' && previous?.spec?.replicas === object.spec?.replicas) return;
      // A workload's scale matters to the budgets selecting its pods, which carry its template's labels.
      const template = object.spec?.template?.metadata;
      this.enqueueBudgetsSelecting({
        metadata: { namespace: object.metadata.namespace, labels: template?.labels },
      });
    }
  }

  private enqueueBudgetsSelecting(pod: KubeObject): void {
    for (const pdb of budgetIndex(this.ctx.store).candidateBudgets(pod)) {
      let selects = true;
      try {
        selects = matchesLabelSelector(pdb.spec?.selector, pod.metadata.labels);
      } catch {
        // An invalid selector: the sync reports it as SyncFailed.
      }
      if (selects) this.enqueue(pdb);
    }
  }

  private enqueue(pdb: KubeObject): void {
    this.queue.add(queueKey(pdb.metadata.namespace, pdb.metadata.name));
  }

  private sync(key: string): void {
    const { store, clock } = this.ctx;
    const [namespace, name] = splitQueueKey(key);
    const pdb = store.get(R.pdbs, namespace, name);
    if (!pdb || pdb.metadata.deletionTimestamp) return;
    const now = clock.now();
    const result = budgetStatus(store, pdb, now);
    this.report(pdb, result.events);
    if (result.recheckAt !== undefined) this.queue.addAfter(key, result.recheckAt - now);
    if (sameStatus(pdb.status, result.status)) return;
    this.writing = key;
    try {
      store.mutate(R.pdbs, namespace, name, (draft) => {
        draft.status = result.status;
      });
    } finally {
      this.writing = undefined;
    }
  }

  private report(pdb: KubeObject, events: PdbEvent[]): void {
    const uid = pdb.metadata.uid ?? '';
    const reasons = new Set(events.map((e) => e.reason));
    const seen = this.reported.get(uid) ?? new Set<string>();
    for (const event of events) {
      if (seen.has(event.reason)) continue;
      this.ctx.recordEvent(pdb, event.type, event.reason, event.message, SOURCE);
    }
    // Note: a reason is reported again only after the problem went away and came back.
    this.reported.set(uid, reasons);
  }
}

function sameStatus(current: PdbStatus | undefined, next: PdbStatus): boolean {
  return current !== undefined && sameJson(current, next);
}

/** Whether a pod change can change a budget's status: readiness, termination, or its controller. */
function budgetRelevantChange(before: KubeObject, after: KubeObject): boolean {
  return (
    isPodReady(before) !== isPodReady(after) ||
    Boolean(before.metadata.deletionTimestamp) !== Boolean(after.metadata.deletionTimestamp) ||
    controllerRefOf(before)?.uid !== controllerRefOf(after)?.uid ||
    !sameLabels(before, after)
  );
}

/** Whether two versions of a pod carry the same labels, in whatever order. */
function sameLabels(a: KubeObject, b: KubeObject): boolean {
  return sameJson(a.metadata.labels ?? {}, b.metadata.labels ?? {});
}
