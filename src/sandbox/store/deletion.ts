import type { Clock } from '../../core/index.ts';
import { conflict, type GroupResource, notFound } from '../status.ts';
import type { ObjectStore } from './object-store.ts';
import type { KubeObject, ResourceKey } from './types.ts';

export interface DeleteOptions {
  /** Seconds; undefined means the object's own default (a pod's terminationGracePeriodSeconds). */
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
}

/**
 * Deletes an object the way the API server does, for client requests and controllers alike:
 * - A pod bound to a node and not yet finished gets `deletionTimestamp` (now + grace) and
 *   `deletionGracePeriodSeconds`; its kubelet stops it and removes it. A second delete may only shorten grace.
 * - An object with finalizers gets `deletionTimestamp` and stays until they are removed.
 * - Anything else is removed at once.
 * `Orphan` propagation strips the owner reference from dependents; the garbage collector handles the rest.
 * Returns the object as the response shows it: the terminating object, or the last state of a removed one.
 */
export function deleteObject(
  store: ObjectStore,
  clock: Clock,
  resource: ResourceKey,
  namespace: string | undefined,
  name: string,
  options: DeleteOptions = {},
): KubeObject {
  const current = store.get(resource, namespace, name);
  const gr = groupResource(resource);
  if (!current) throw notFound(gr, name);
  const pre = options.preconditions;
  if (pre?.uid && pre.uid !== current.metadata.uid) {
    throw conflict(
      gr,
      name,
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
    );
  }
  if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
    throw conflict(
      gr,
      name,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
    );
  }
  if (options.propagationPolicy === 'Orphan') orphanDependents(store, current);

  const graceful = resource === 'pods' && isRunningOnNode(current);
  const grace = graceful ? gracePeriodOf(current, options.gracePeriodSeconds) : 0;
  const hasFinalizers = (current.metadata.finalizers?.length ?? 0) > 0;

  if (!hasFinalizers && grace === 0) return store.remove(resource, namespace, name) ?? current;
  if (!graceful && current.metadata.deletionTimestamp) return current; // waiting on finalizers already

  const updated = store.mutate(resource, namespace, name, (draft) => {
    const meta = draft.metadata;
    const deadline = clock.now() + grace * 1000;
    // Note: a repeated delete may shorten the grace period but never lengthen it.
    if (meta.deletionTimestamp && Date.parse(meta.deletionTimestamp) <= deadline) return false;
    meta.deletionTimestamp = rfc3339(deadline);
    meta.deletionGracePeriodSeconds = grace;
    return true;
  });
  return updated ?? current;
}

function isRunningOnNode(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return Boolean(pod.spec?.nodeName) && phase !== 'Succeeded' && phase !== 'Failed';
}

function gracePeriodOf(pod: KubeObject, requested: number | undefined): number {
  const grace = requested ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  return Math.max(0, Math.floor(grace));
}

function orphanDependents(store: ObjectStore, owner: KubeObject): void {
  const uid = owner.metadata.uid;
  for (const resource of store.resources()) {
    for (const obj of store.list(resource, owner.metadata.namespace)) {
      if (!obj.metadata.ownerReferences?.some((ref) => ref.uid === uid)) continue;
      store.mutate(resource, obj.metadata.namespace, obj.metadata.name ?? '', (draft) => {
        draft.metadata.ownerReferences = draft.metadata.ownerReferences?.filter((ref) => ref.uid !== uid);
        if (draft.metadata.ownerReferences?.length === 0) delete draft.metadata.ownerReferences;
      });
    }
  }
}

export function groupResource(resource: ResourceKey): GroupResource {
  const slash = resource.indexOf('/');
  return slash < 0
    ? { group: '', resource }
    : { group: resource.slice(0, slash), resource: resource.slice(slash + 1) };
}

/** Kubernetes timestamps are RFC 3339 with second precision. */
export function rfc3339(ms: number): string {
  // Note: the simulation stamps many writes in the same second (every pod of a burst); formatting once per
  // second saves a Date and a regular expression per write.
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastText = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return lastText;
}
let lastSecond = Number.NaN;
let lastText = '';
