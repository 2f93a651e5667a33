/**
 * The in-memory store's counterpart of an etcd snapshot: every object under the key kube-apiserver would
 * give it in etcd (`/registry/<resource>/<namespace>/<name>`), with the store's revision. `midflight`'s
 * backup phase saves it through the admin API and drills it by loading it into a scratch store, the same
 * save → verify → drill flow as for etcd.
 */
import type { Clock } from '../../core/index.ts';
import { ObjectStore } from '../store/object-store.ts';
import { registryKeyOf } from '../store/registry-keys.ts';
import type { KubeObject } from '../store/types.ts';

export const STORE_SNAPSHOT_FORMAT = 'midflight.sandbox-store/v1';

export interface StoreSnapshot {
  format: typeof STORE_SNAPSHOT_FORMAT;
  scenario: string;
  /** The store's resourceVersion when it was read (etcd's revision). */
  revision: number;
  items: { key: string; resource: string; object: KubeObject }[];
}

export function storeSnapshotOf(store: ObjectStore, scenario: string): StoreSnapshot {
  const items: StoreSnapshot['items'] = [];
  for (const resource of store.resources())
    for (const object of store.list(resource))
      items.push({ key: registryKeyOf(resource, object), resource, object });
  items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { format: STORE_SNAPSHOT_FORMAT, scenario, revision: store.resourceVersion, items };
}

export interface StoreDrill {
  revision: number;
  keys: number;
  sampleKeys: string[];
  problems: string[];
}

/**
 * Loads a snapshot into a scratch store (the live one is not touched) and reads it back. Each object that
 * cannot be stored is a problem; a body that is not a snapshot is one problem.
 */
export function drillStoreSnapshot(body: unknown, clock: Clock, sampleSize: number): StoreDrill {
  const snapshot = body as Partial<StoreSnapshot> | undefined;
  if (snapshot?.format !== STORE_SNAPSHOT_FORMAT || !Array.isArray(snapshot.items))
    return { revision: 0, keys: 0, sampleKeys: [], problems: [`not a ${STORE_SNAPSHOT_FORMAT} snapshot`] };
  const scratch = new ObjectStore(clock, { historySize: 1 });
  const problems: string[] = [];
  for (const item of snapshot.items) {
    try {
      scratch.create(item.resource, item.object);
    } catch (err) {
      if (problems.length < 10) problems.push(`${item.key}: ${(err as Error).message}`);
    }
  }
  const keys = storeSnapshotOf(scratch, snapshot.scenario ?? '').items.map((i) => i.key);
  if (keys.length !== snapshot.items.length)
    problems.push(`${snapshot.items.length} objects in the snapshot, ${keys.length} restored`);
  return {
    revision: snapshot.revision ?? 0,
    keys: keys.length,
    sampleKeys: keys.slice(0, sampleSize),
    problems,
  };
}
