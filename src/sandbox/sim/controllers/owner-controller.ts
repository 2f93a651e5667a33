import type { Actor, SandboxContext } from '../../context.ts';
import type { KubeObject, ResourceKey, StoreEvent } from '../../store/types.ts';
import { contained, reportSimulationError } from '../contain-errors.ts';
import { OwnedIndex } from './owned-index.ts';
import { updateStatusIfChanged } from './status-writer.ts';
import { queueKey, WorkQueue } from './work-queue.ts';

/** Which objects an owner controller reconciles and which objects it owns. */
export interface OwnerControllerOptions {
  /** The actor's name, as contained errors report it. */
  name: string;
  /** The resource whose objects are reconciled, one queue key each (e.g. replicasets). */
  owners: ResourceKey;
  /** Their kind, as the owned objects' controller references name it (e.g. ReplicaSet). */
  ownerKind: string;
  /** The resource the owners create and index by owner uid (pods; replicasets for Deployments). */
  owned: ResourceKey;
}

/**
 * The skeleton every workload controller shares, as upstream's controllers share informers and a rate-limited
 * queue: an index of the owned objects by owner uid, kept current from store events; one queue key per owner
 * ("namespace/name"); an owner's key queued when it or one of its owned objects changes; `sync(key)` run from
 * the queue, never from inside the store listener (see WorkQueue).
 *
 * Subclasses implement `sync` and override the hooks where their kind needs more (a Job's tally of finished
 * pods, a DaemonSet's interest in nodes, a Deployment's orphaned ReplicaSets).
 */
export abstract class OwnerController implements Actor {
  readonly name: string;
  protected readonly queue: WorkQueue;
  private readonly ownedIndex: OwnedIndex;
  private readonly uidToKey = new Map<string, string>();
  /** The queue key of the owner whose status writeOwnStatus is writing, while it writes. */
  private writingStatusOf: string | undefined;
  private unsubscribe: (() => void) | undefined;

  protected constructor(
    protected readonly ctx: SandboxContext,
    private readonly options: OwnerControllerOptions,
  ) {
    this.name = options.name;
    this.ownedIndex = new OwnedIndex(options.ownerKind);
    this.queue = new WorkQueue(ctx.clock, (key) => this.sync(key), {
      onError: (_key, err) => reportSimulationError(ctx, this.name, err),
    });
  }

  start(): void {
    const { store } = this.ctx;
    this.ownedIndex.load(store.list(this.options.owned));
    this.loadIndexes();
    for (const owner of store.list(this.options.owners)) this.track(owner);
    this.unsubscribe = store.onChange(contained(this.ctx, this.name, (event) => this.onChange(event)));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.queue.stop();
  }

  /** Reconciles the owner named by the queue key ("namespace/name"). */
  protected abstract sync(key: string): void;

  /** Hook: loads the subclass's own indexes at start, after the owned index and before the owners are queued. */
  protected loadIndexes(): void {}

  /** Hook: an owner was seen (at start, created or changed), just before its key is queued. */
  protected onOwnerSeen(_owner: KubeObject): void {}

  /** Hook: an owner was deleted; forget what was kept about it. */
  protected onOwnerDeleted(_owner: KubeObject): void {}

  /** Hook: an owned object changed, under these owner uids (before and after). Default: sync them now. */
  protected onOwnedChange(_event: StoreEvent, ownerUids: string[]): void {
    for (const uid of ownerUids) this.enqueueUid(uid);
  }

  /** Hook: a change to any other resource. */
  protected onOtherChange(_event: StoreEvent): void {}

  /** The objects the owner with this uid controls, as the index knows them now. */
  protected ownedBy(ownerUid: string | undefined): KubeObject[] {
    return this.ownedIndex.owned(ownerUid);
  }

  /** Queues the owner with this uid, if it is known, now or after `delayMs` of clock time. */
  protected enqueueUid(uid: string, delayMs = 0): void {
    const key = this.uidToKey.get(uid);
    if (key) this.queue.addAfter(key, delayMs);
  }

  /** The queue key ("namespace/name") of the known owner with this uid. */
  protected keyOfUid(uid: string): string | undefined {
    return this.uidToKey.get(uid);
  }

  /** Queues `owner` again after `delayMs` of clock time (e.g. when a pod becomes available). */
  protected requeueAfter(owner: KubeObject, delayMs: number): void {
    this.queue.addAfter(queueKey(owner.metadata.namespace, owner.metadata.name), delayMs);
  }

  /** The queue keys of every known owner. */
  protected ownerKeys(): IterableIterator<string> {
    return this.uidToKey.values();
  }

  /**
   * Writes the owner's status when it differs from the stored one (updateStatusIfChanged), without queuing
   * the owner again for its own write. Only for a sync whose result depends on the owner's spec and the
   * owned objects, not on the status it writes: a sync right after would compute the same status again.
   */
  protected writeOwnStatus(owner: KubeObject, status: Record<string, unknown>): void {
    this.writingStatusOf = queueKey(owner.metadata.namespace, owner.metadata.name);
    try {
      updateStatusIfChanged(this.ctx.store, this.options.owners, owner, status);
    } finally {
      this.writingStatusOf = undefined;
    }
  }

  private track(owner: KubeObject): void {
    const key = queueKey(owner.metadata.namespace, owner.metadata.name);
    this.uidToKey.set(owner.metadata.uid ?? '', key);
    this.onOwnerSeen(owner);
    if (key !== this.writingStatusOf) this.queue.add(key);
  }

  private onChange(event: StoreEvent): void {
    if (event.resource === this.options.owners) {
      if (event.type === 'DELETED') {
        this.uidToKey.delete(event.object.metadata.uid ?? '');
        this.onOwnerDeleted(event.object);
      } else {
        this.track(event.object);
      }
    } else if (event.resource === this.options.owned) {
      this.onOwnedChange(event, this.ownedIndex.apply(event));
    } else {
      this.onOtherChange(event);
    }
  }
}
