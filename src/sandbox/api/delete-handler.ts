import { noteClientPodDeletion } from '../sim/disruption/eviction.ts';
import { badRequest, conflict } from '../status.ts';
import { type DeleteOptions, deleteObject, rfc3339 } from '../store/deletion.ts';
import type { Json, KubeObject } from '../store/types.ts';
import { type ApiRequest, mediaType, unsupportedMediaType } from './api-request.ts';
import { parseJsonBody, readBodyBytes } from './http-io.ts';
import { listPage } from './list-handler.ts';
import { decodeProtobufDeleteOptions } from './protobuf-delete-options.ts';

const POLICIES = ['Orphan', 'Background', 'Foreground'];

/** DeleteOptions from the body (kubectl, client-node) or the query string (curl-style clients). */
export async function deleteOptionsOf(r: ApiRequest): Promise<DeleteOptions & { dryRun: boolean }> {
  const raw = await readBodyBytes(r.req);
  const type = mediaType(r.req);
  let body: Json = {};
  if (type === 'application/vnd.kubernetes.protobuf') {
    if (raw.length) body = decodeProtobufDeleteOptions(raw);
  } else if (raw.toString('utf8').trim()) {
    if (type && type !== 'application/json') throw unsupportedMediaType(type);
    body = parseJsonBody(raw.toString('utf8'));
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw badRequest('DeleteOptions must be an object');
  }
  const q = r.query;
  const graceText = q.get('gracePeriodSeconds');
  let gracePeriodSeconds: number | undefined = body.gracePeriodSeconds ?? undefined;
  if (graceText !== null && graceText !== '') gracePeriodSeconds = Number(graceText);
  if (gracePeriodSeconds !== undefined && (!Number.isFinite(gracePeriodSeconds) || gracePeriodSeconds < 0))
    throw badRequest(
      `gracePeriodSeconds: Invalid value: ${JSON.stringify(gracePeriodSeconds)}: must be non-negative`,
    );
  let propagationPolicy = body.propagationPolicy ?? undefined;
  if (q.get('propagationPolicy')) propagationPolicy = q.get('propagationPolicy');
  if (body.orphanDependents === true && !propagationPolicy) propagationPolicy = 'Orphan';
  if (propagationPolicy !== undefined && !POLICIES.includes(propagationPolicy))
    throw badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(propagationPolicy)}`);
  const dryRun = r.dryRun || (Array.isArray(body.dryRun) && body.dryRun.includes('All'));
  return { gracePeriodSeconds, propagationPolicy, preconditions: body.preconditions ?? undefined, dryRun };
}

/** Deletes one object; returns it as terminating, or its last state when it is gone at once. */
export function deleteOne(
  r: ApiRequest,
  namespace: string | undefined,
  name: string,
  options: DeleteOptions & { dryRun: boolean },
): KubeObject {
  const ctx = r.ctx;
  const current = ctx.store.mustGet(r.key, namespace, name);
  if (options.dryRun) {
    const pre = options.preconditions;
    if (
      (pre?.uid && pre.uid !== current.metadata.uid) ||
      (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion)
    )
      throw conflict(r.gr, name, 'Precondition failed');
    const grace = options.gracePeriodSeconds ?? current.spec?.terminationGracePeriodSeconds ?? 0;
    return {
      ...current,
      metadata: {
        ...current.metadata,
        deletionTimestamp: rfc3339(ctx.clock.now() + grace * 1000),
        deletionGracePeriodSeconds: grace,
      },
    };
  }
  if (r.key === 'pods') noteClientPodDeletion(ctx, current);
  return deleteObject(ctx.store, ctx.clock, r.key, namespace, name, options);
}

export async function handleDelete(r: ApiRequest): Promise<KubeObject> {
  const options = await deleteOptionsOf(r);
  return deleteOne(r, r.target.namespace, r.name, options);
}

/** DELETE of a collection: every selected object, answered with the list of what was deleted. */
export async function handleDeleteCollection(r: ApiRequest): Promise<unknown> {
  const options = await deleteOptionsOf(r);
  const { items } = listPage(r);
  const deleted: KubeObject[] = [];
  for (const obj of items) {
    try {
      deleted.push(deleteOne(r, obj.metadata.namespace, obj.metadata.name ?? '', options));
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  }
  return {
    kind: `${r.info.kind}List`,
    apiVersion: r.apiVersion,
    metadata: { resourceVersion: String(r.ctx.store.resourceVersion) },
    items: deleted,
  };
}
