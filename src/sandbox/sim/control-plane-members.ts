/**
 * The control-plane nodes (those labelled node-role.kubernetes.io/control-plane), sorted by name, without
 * a scan of every node per question: the control plane's probes and /version, the etcd disk's ticks and
 * every node upgrade ask, and at 5,000 nodes each scan visited 5,000 nodes to find three.
 */
import { R } from '../api/resources.ts';
import { CONTROL_PLANE_LABEL } from '../scenario/node-object.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { KubeObject, StoreEvent } from '../store/types.ts';

interface MemberCache {
  names?: readonly string[];
}

const caches = new WeakMap<ObjectStore, MemberCache>();

export function controlPlaneMembers(store: ObjectStore): readonly string[] {
  let cache = caches.get(store);
  if (!cache) {
    const created: MemberCache = {};
    // Note: forgotten on any change that can add or remove a member; heartbeats and taints cannot.
    store.onChange((event) => {
      if (event.resource === R.nodes && membershipMayChange(event)) created.names = undefined;
    });
    caches.set(store, created);
    cache = created;
  }
  cache.names ??= store
    .list(R.nodes, undefined, isMember)
    .map((n) => n.metadata.name ?? '')
    .sort();
  return cache.names;
}

function isMember(node: KubeObject | undefined): boolean {
  return node?.metadata.labels?.[CONTROL_PLANE_LABEL] !== undefined;
}

function membershipMayChange(event: StoreEvent): boolean {
  return event.type !== 'MODIFIED' || isMember(event.previous) !== isMember(event.object);
}
