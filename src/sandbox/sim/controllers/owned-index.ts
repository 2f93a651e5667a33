import type { KubeObject, StoreEvent } from '../../store/types.ts';
import { controllerRefOf } from './owner-refs.ts';

/**
 * Objects of one resource grouped by the uid of their controller (of one kind), kept current from store
 * events, so a controller finds its pods without scanning all 150,000 of them.
 */
export class OwnedIndex {
  private readonly byOwner = new Map<string, Map<string, KubeObject>>();

  constructor(private readonly ownerKind: string) {}

  /** Indexes the objects that exist now (call once at start, before events arrive). */
  load(objects: Iterable<KubeObject>): void {
    this.byOwner.clear();
    for (const obj of objects) this.put(obj);
  }

  /** Applies a store event of the indexed resource; returns the owner uids whose set may have changed. */
  apply(event: StoreEvent): string[] {
    const before = this.ownerUid(event.previous);
    const deleted = event.type === 'DELETED';
    // Note: for a deletion, `after` is the owner the deleted object names (it leaves that owner's set).
    const after = this.ownerUid(event.object);
    // Note: every pod write reaches each workload controller's index, and most pods belong to another kind.
    if (!before && !after) return [];
    const key = objectKey(event.object);
    if (before && before !== after) this.byOwner.get(before)?.delete(key);
    if (deleted) {
      if (after) this.remove(after, key);
      return after ? [after] : [before!];
    }
    if (after) this.put(event.object);
    if (before && before !== after) this.dropIfEmpty(before);
    if (!before || before === after) return [after!];
    return after ? [before, after] : [before];
  }

  owned(ownerUid: string | undefined): KubeObject[] {
    if (!ownerUid) return [];
    return [...(this.byOwner.get(ownerUid)?.values() ?? [])];
  }

  private ownerUid(obj: KubeObject | undefined): string | undefined {
    const ref = controllerRefOf(obj);
    return ref?.kind === this.ownerKind ? ref.uid : undefined;
  }

  private put(obj: KubeObject): void {
    const uid = this.ownerUid(obj);
    if (!uid) return;
    let owned = this.byOwner.get(uid);
    if (!owned) {
      owned = new Map();
      this.byOwner.set(uid, owned);
    }
    owned.set(objectKey(obj), obj);
  }

  private remove(uid: string, key: string): void {
    this.byOwner.get(uid)?.delete(key);
    this.dropIfEmpty(uid);
  }

  private dropIfEmpty(uid: string): void {
    if (this.byOwner.get(uid)?.size === 0) this.byOwner.delete(uid);
  }
}

function objectKey(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}
