import { badRequest, conflict, invalid } from '../status.ts';
import type { KubeObject } from '../store/types.ts';
import type { ApiRequest } from './api-request.ts';
import { recordManagedFields } from './managed-fields.ts';
import { validateUpdate } from './validation.ts';

/** Metadata only the server writes; a client's values are replaced by the stored ones. */
const SERVER_OWNED_META = [
  'uid',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'generation',
  'selfLink',
] as const;

/**
 * Stores a client's replacement of an object (PUT or PATCH, main resource or `status`), enforcing what the
 * real server's update strategies enforce:
 * - the name and namespace are the URL's; a different uid is a failed precondition (409);
 * - server-owned metadata comes from the stored object;
 * - for resources with a status subresource, main-resource writes keep the stored status, and status writes
 *   change nothing but status;
 * - a non-empty resourceVersion must be the stored one (409 Conflict, checked by the store);
 * - an object whose deletion waits only on finalizers goes once they are all removed.
 */
export function commitUpdate(
  r: ApiRequest,
  candidate: KubeObject,
  previous: KubeObject,
  operation: 'Update' | 'Apply' = 'Update',
): KubeObject {
  const sub = r.target.subresource;
  if (candidate.metadata.name !== undefined && candidate.metadata.name !== previous.metadata.name)
    throw badRequest(
      `the name of the object (${candidate.metadata.name}) does not match the name on the URL (${r.name})`,
    );
  if (
    r.info.namespaced &&
    candidate.metadata.namespace &&
    candidate.metadata.namespace !== previous.metadata.namespace
  )
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  const uid = candidate.metadata.uid;
  if (uid && uid !== previous.metadata.uid)
    throw conflict(
      r.gr,
      r.name,
      `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${previous.metadata.uid}`,
    );

  let next: KubeObject;
  if (sub === 'status') {
    next = { ...previous, status: candidate.status, metadata: { ...previous.metadata } };
    next.metadata.resourceVersion = candidate.metadata.resourceVersion ?? '';
  } else {
    next = { ...candidate, metadata: { ...candidate.metadata } };
    for (const field of SERVER_OWNED_META) {
      if (previous.metadata[field] === undefined) delete next.metadata[field];
      else (next.metadata as Record<string, unknown>)[field] = previous.metadata[field];
    }
    if (r.info.subresources.includes('status')) {
      if (previous.status === undefined) delete next.status;
      else next.status = previous.status;
    }
  }
  next.metadata.name = previous.metadata.name;
  if (previous.metadata.namespace) next.metadata.namespace = previous.metadata.namespace;
  else delete next.metadata.namespace;
  next.apiVersion ??= previous.apiVersion;
  next.kind ??= previous.kind;

  const errors = validateUpdate(r.key, next, previous);
  if (errors.length) throw invalid(r.info.kind, r.name, errors, r.info.group);
  recordManagedFields(next, previous, {
    manager: r.manager,
    operation,
    apiVersion: r.apiVersion,
    now: r.ctx.clock.now(),
    subresource: sub,
  });
  if (r.dryRun) {
    if (next.metadata.resourceVersion && next.metadata.resourceVersion !== previous.metadata.resourceVersion)
      throw conflict(
        r.gr,
        r.name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    return { ...next, metadata: { ...next.metadata, resourceVersion: previous.metadata.resourceVersion } };
  }
  const stored = r.ctx.store.update(r.key, next);
  const finalizersDone = stored.metadata.deletionTimestamp && !(stored.metadata.finalizers?.length ?? 0);
  if (finalizersDone && (r.key !== 'pods' || stored.metadata.deletionGracePeriodSeconds === 0)) {
    return r.ctx.store.remove(r.key, stored.metadata.namespace, r.name) ?? stored;
  }
  return stored;
}
