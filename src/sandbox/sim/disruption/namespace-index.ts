import type { ObjectStore } from '../../store/object-store.ts';
import type { KubeObject, ResourceKey } from '../../store/types.ts';

/**
 * The objects of one resource grouped by namespace, kept current from the store's change feed.
 * `store.list(resource, ns)` walks every key of the resource; with 150,000 pods that is too slow to run per
 * eviction or per budget sync, so the eviction handler and the PDB controller share one index per store.
 */
export class NamespaceIndex {
  private readonly byNamespace = new Map<string, Map<string, KubeObject>>();

  constructor(store: ObjectStore, resource: ResourceKey) {
    for (const obj of store.list(resource)) this.put(obj);
    // Note: the index lives as long as its store (it is only reachable through the WeakMap below), so the
    // subscription is never removed.
    store.onChange((event) => {
      if (event.resource !== resource) return;
      if (event.type === 'DELETED') {
        const ns = event.object.metadata.namespace ?? '';
        this.byNamespace.get(ns)?.delete(event.object.metadata.name ?? '');
      } else {
        this.put(event.object);
      }
    });
  }

  list(namespace: string): KubeObject[] {
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }

  private put(obj: KubeObject): void {
    const ns = obj.metadata.namespace ?? '';
    let objects = this.byNamespace.get(ns);
    if (!objects) {
      objects = new Map();
      this.byNamespace.set(ns, objects);
    }
    objects.set(obj.metadata.name ?? '', obj);
  }
}

const indexes = new WeakMap<ObjectStore, Map<ResourceKey, NamespaceIndex>>();

/** The shared namespace index of `resource` in `store`, built on first use. */
export function namespaceIndex(store: ObjectStore, resource: ResourceKey): NamespaceIndex {
  let perStore = indexes.get(store);
  if (!perStore) {
    perStore = new Map();
    indexes.set(store, perStore);
  }
  let index = perStore.get(resource);
  if (!index) {
    index = new NamespaceIndex(store, resource);
    perStore.set(resource, index);
  }
  return index;
}
