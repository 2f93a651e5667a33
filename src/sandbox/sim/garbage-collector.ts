/**
 * The garbage collector: deletes objects whose owners are all gone (background propagation), and drops
 * owner references to missing owners from objects that still have a live one.
 *
 * Dependents are indexed by owner uid from store changes, so deleting a Deployment costs its own
 * dependents, not a scan of every object. Owners are looked up by kind through the served-resource table;
 * a reference to a kind the sandbox does not serve is assumed live (the real GC would be unable to tell).
 *
 * Usage: `new GarbageCollector(ctx)`, then start()/stop().
 */
import type { Timer } from '../../core/index.ts';
import { RESOURCES, storeKey } from '../api/resources.ts';
import type { Actor, SandboxContext } from '../context.ts';
import { deleteObject } from '../store/deletion.ts';
import type { KubeObject, OwnerReference, ResourceKey, StoreEvent } from '../store/types.ts';
import { contain, contained } from './contain-errors.ts';

/** A dependent as the index keeps it: resource, namespace and name, joined by NUL. */
type DependentKey = string;

const COLLECT_BATCH = 5_000;

interface OwnerResource {
  resource: ResourceKey;
  namespaced: boolean;
}

export class GarbageCollector implements Actor {
  readonly name = 'garbage-collector';
  private readonly dependents = new Map<string, Set<DependentKey>>();
  private readonly toCheck = new Set<DependentKey>();
  private timer?: Timer;
  private unsubscribe?: () => void;
  private readonly ownerResources = new Map<string, OwnerResource>();

  constructor(private readonly ctx: SandboxContext) {
    for (const info of RESOURCES) {
      const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
      this.ownerResources.set(`${apiVersion}/${info.kind}`, {
        resource: storeKey(info),
        namespaced: info.namespaced,
      });
    }
  }

  start(): void {
    this.unsubscribe = this.ctx.store.onChange(
      contained(this.ctx, this.name, (event) => this.onChange(event)),
    );
    for (const resource of this.ctx.store.resources()) {
      for (const obj of this.ctx.store.list(resource)) {
        if (!obj.metadata.ownerReferences?.length) continue;
        this.index(resource, obj, 1);
        this.enqueue(dependentKey(resource, obj));
      }
    }
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.timer?.cancel();
    this.timer = undefined;
    this.dependents.clear();
    this.toCheck.clear();
  }

  private onChange(event: StoreEvent): void {
    const { resource, object, previous } = event;
    // Note: most writes (statuses, heartbeats) keep the owners: the index is left as it is for them.
    if (event.type === 'MODIFIED' && !ownersChanged(previous, object)) return;
    if (previous?.metadata.ownerReferences?.length) this.index(resource, previous, -1);
    if (event.type !== 'DELETED' && object.metadata.ownerReferences?.length) {
      this.index(resource, object, 1);
      // An object created (or re-owned) after its owner went is an orphan from birth.
      if (event.type === 'ADDED' || ownersChanged(previous, object))
        this.enqueue(dependentKey(resource, object));
    }
    if (event.type === 'DELETED') {
      const uid = object.metadata.uid;
      const waiting = uid ? this.dependents.get(uid) : undefined;
      if (waiting) for (const key of waiting) this.enqueue(key);
    }
  }

  private index(resource: ResourceKey, obj: KubeObject, sign: 1 | -1): void {
    const key = dependentKey(resource, obj);
    for (const ref of obj.metadata.ownerReferences ?? []) {
      let set = this.dependents.get(ref.uid);
      if (sign > 0) {
        if (!set) {
          set = new Set();
          this.dependents.set(ref.uid, set);
        }
        set.add(key);
      } else if (set) {
        set.delete(key);
        if (set.size === 0) this.dependents.delete(ref.uid);
      }
    }
  }

  private enqueue(key: DependentKey): void {
    this.toCheck.add(key);
    // Note: work happens in a timer, outside the store notification that revealed it.
    this.timer ??= this.ctx.clock.setTimer(0, () => this.collectBatch());
  }

  /**
   * Checks up to COLLECT_BATCH dependents, then yields to the event loop before the next batch: the first
   * pass checks every owned object (150,000 pods in the large scenario).
   */
  private collectBatch(): void {
    this.timer = undefined;
    let done = 0;
    for (const key of this.toCheck) {
      if (done++ >= COLLECT_BATCH) {
        this.timer ??= this.ctx.clock.setTimer(0, () => this.collectBatch());
        return;
      }
      this.toCheck.delete(key);
      contain(this.ctx, this.name, () => this.collect(key));
    }
  }

  private collect(key: DependentKey): void {
    const [resource, namespace, name] = key.split('\0') as [string, string, string];
    const obj = this.ctx.store.get(resource, namespace || undefined, name);
    const refs = obj?.metadata.ownerReferences;
    if (!obj || !refs?.length) return;
    const missing = refs.filter((ref) => !this.ownerExists(ref, obj.metadata.namespace));
    if (missing.length === 0) return;
    if (missing.length < refs.length) {
      const gone = new Set(missing.map((ref) => ref.uid));
      this.ctx.store.mutate(resource, namespace || undefined, name, (draft) => {
        draft.metadata.ownerReferences = draft.metadata.ownerReferences?.filter((ref) => !gone.has(ref.uid));
      });
      return;
    }
    if (obj.metadata.deletionTimestamp) return;
    try {
      deleteObject(this.ctx.store, this.ctx.clock, resource, namespace || undefined, name, {
        propagationPolicy: 'Background',
      });
    } catch {
      // Deleted meanwhile: nothing to collect.
    }
  }

  private ownerExists(ref: OwnerReference, namespace: string | undefined): boolean {
    const owner = this.ownerResources.get(`${ref.apiVersion}/${ref.kind}`);
    if (!owner) return true;
    const found = this.ctx.store.get(owner.resource, owner.namespaced ? namespace : undefined, ref.name);
    return found?.metadata.uid === ref.uid;
  }
}

function dependentKey(resource: ResourceKey, obj: KubeObject): DependentKey {
  return `${resource}\0${obj.metadata.namespace ?? ''}\0${obj.metadata.name ?? ''}`;
}

function ownersChanged(previous: KubeObject | undefined, current: KubeObject): boolean {
  const before = previous?.metadata.ownerReferences ?? [];
  const after = current.metadata.ownerReferences ?? [];
  return before.length !== after.length || after.some((ref, i) => ref.uid !== before[i]?.uid);
}
