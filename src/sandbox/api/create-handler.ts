import { randomUUID } from 'node:crypto';
import { alreadyExists, badRequest, invalid } from '../status.ts';
import { rfc3339 } from '../store/deletion.ts';
import type { KubeObject } from '../store/types.ts';
import { type ApiRequest, requireNamespace } from './api-request.ts';
import { applyCreateDefaults, applyGeneratedJobSelector } from './defaults.ts';
import { recordManagedFields } from './managed-fields.ts';
import { checkResourceShape } from './resource-shapes.ts';
import { R } from './resources.ts';
import { validateObject } from './validation.ts';

/** Metadata a client may not set on create: the server assigns it. */
const STRIPPED_ON_CREATE = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'generation',
  'selfLink',
  'managedFields',
] as const;

/** Checks that a body's apiVersion and kind are the endpoint's; fills them when the client left them out. */
export function checkTypeMeta(r: ApiRequest, obj: KubeObject): void {
  if (obj.apiVersion !== undefined && obj.apiVersion !== r.apiVersion)
    throw badRequest(
      `the API version in the data (${obj.apiVersion}) does not match the expected API version (${r.apiVersion})`,
    );
  if (obj.kind !== undefined && obj.kind !== r.info.kind)
    throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${r.info.kind})`);
  obj.apiVersion = r.apiVersion;
  obj.kind = r.info.kind;
}

/** Sets the object's namespace from the URL; a different one in the body is a 400. */
export function checkNamespace(r: ApiRequest, obj: KubeObject): void {
  if (!r.info.namespaced) {
    delete obj.metadata.namespace;
    return;
  }
  const ns = r.target.namespace;
  if (obj.metadata.namespace && obj.metadata.namespace !== ns)
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  obj.metadata.namespace = ns;
}

/** Creates `obj` (the parsed body) as a POST does; also the create half of server-side apply. */
export function createObject(
  r: ApiRequest,
  obj: KubeObject,
  operation: 'Update' | 'Apply' = 'Update',
): KubeObject {
  checkTypeMeta(r, obj);
  checkNamespace(r, obj);
  for (const field of STRIPPED_ON_CREATE) delete obj.metadata[field];
  const ctx = r.ctx;
  // Note: types first, as the real server decodes before admission and defaulting, which read the fields.
  const shapeErrors = checkResourceShape(r.key, obj);
  if (shapeErrors.length) throw invalid(r.info.kind, nameOf(obj), shapeErrors, r.info.group);
  if (r.info.namespaced) requireNamespace(ctx, r.target.namespace ?? '', r.gr, nameOf(obj));
  applyCreateDefaults(r.key, obj, ctx.random);
  // A generated name is validated as the prefix plus the five characters the store will append.
  const nameToValidate =
    obj.metadata.name || (obj.metadata.generateName ? `${obj.metadata.generateName}abcde` : '');
  const errors = validateObject(r.key, { ...obj, metadata: { ...obj.metadata, name: nameToValidate } });
  if (errors.length) throw invalid(r.info.kind, nameOf(obj), errors, r.info.group);
  recordManagedFields(obj, undefined, {
    manager: r.manager,
    operation,
    apiVersion: r.apiVersion,
    now: ctx.clock.now(),
  });
  if (r.dryRun) {
    if (!obj.metadata.name) obj.metadata.name = `${obj.metadata.generateName}dryrun`;
    if (ctx.store.get(r.key, obj.metadata.namespace, obj.metadata.name))
      throw alreadyExists(r.gr, obj.metadata.name);
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = rfc3339(ctx.clock.now());
    obj.metadata.generation = 1;
    if (r.key === R.jobs) applyGeneratedJobSelector(obj);
    return obj;
  }
  const created = ctx.store.create(r.key, obj);
  if (r.key !== R.jobs || created.spec?.manualSelector === true) return created;
  // Note: the selector is made of the uid the store has just given, hence a second write, as build-cluster does.
  return (
    ctx.store.mutate(
      R.jobs,
      created.metadata.namespace,
      created.metadata.name ?? '',
      applyGeneratedJobSelector,
    ) ?? created
  );
}

/** The name an error message names the object by; a name of the wrong type is not one. */
function nameOf(obj: KubeObject): string {
  return typeof obj.metadata.name === 'string' ? obj.metadata.name : '';
}

export async function handleCreate(r: ApiRequest): Promise<KubeObject> {
  return createObject(r, await r.object());
}
