import { type FieldError, invalid, StatusError } from '../status.ts';
import type { KubeObject } from '../store/types.ts';
import { type ApiRequest, mediaType, parseYamlBody } from './api-request.ts';
import { commitUpdate } from './commit-update.ts';
import { checkTypeMeta, createObject } from './create-handler.ts';
import { invalidValue, required } from './field-errors.ts';
import { isRecord } from './field-shapes.ts';
import { parseJsonBody } from './http-io.ts';
import { applyJsonPatch } from './json-patch.ts';
import { applyMergePatch } from './merge-patch.ts';
import { applyStrategicMergePatch } from './strategic-merge-patch.ts';

export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
] as const;

type PatchType = (typeof PATCH_TYPES)[number];

function patchTypeOf(r: ApiRequest): PatchType {
  const type = mediaType(r.req);
  // Note: kube-apiserver has no schema to merge a custom resource's lists by key, so it refuses the type.
  const accepted = r.info.custom
    ? PATCH_TYPES.filter((t) => t !== 'application/strategic-merge-patch+json')
    : PATCH_TYPES;
  if ((accepted as readonly string[]).includes(type)) return type as PatchType;
  throw new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

/** Applies a patch document of the given type to `current`; malformed or unsatisfiable patches are 400/422. */
export function applyPatch(type: PatchType, current: unknown, patch: unknown): KubeObject {
  switch (type) {
    case 'application/json-patch+json':
      return applyJsonPatch(current, patch);
    case 'application/merge-patch+json':
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
        throw new StatusError(400, 'BadRequest', 'a merge patch must be a JSON object');
      return applyMergePatch(current, patch);
    default:
      return applyStrategicMergePatch(current, patch);
  }
}

/**
 * PATCH of an object, its status or (via the scale handler) its scale. Server-side apply is approximated:
 * it creates the object when absent and otherwise merges the applied configuration like a merge patch.
 */
export async function handlePatch(r: ApiRequest): Promise<{ code: number; object: KubeObject }> {
  const type = patchTypeOf(r);
  const text = await r.text();
  const patch = type === 'application/apply-patch+yaml' ? parseYamlBody(text) : parseJsonBody(text);
  if (type === 'application/apply-patch+yaml') return applyServerSide(r, patch);
  const current = r.ctx.store.mustGet(r.key, r.target.namespace, r.name);
  const patched = patchObject(r, type, current, patch);
  return { code: 200, object: commitUpdate(r, patched, current) };
}

function patchObject(r: ApiRequest, type: PatchType, current: KubeObject, patch: unknown): KubeObject {
  const patched: unknown = applyPatch(type, current, patch);
  const refuse = (error: FieldError) => invalid(r.info.kind, r.name, [error], r.info.group);
  if (!isRecord(patched))
    throw refuse(invalidValue('patch', patched, 'the patched object must be a JSON object'));
  if (patched.metadata === undefined || patched.metadata === null) throw refuse(required('metadata'));
  if (!isRecord(patched.metadata))
    throw refuse(invalidValue('metadata', patched.metadata, 'must be an object'));
  // A patch that names no resourceVersion must not be checked against it: it applies to the current object.
  const requestedRv = (patch as { metadata?: { resourceVersion?: string } } | null)?.metadata
    ?.resourceVersion;
  if (type !== 'application/json-patch+json' && !requestedRv)
    patched.metadata.resourceVersion = current.metadata.resourceVersion;
  return patched as KubeObject;
}

async function applyServerSide(r: ApiRequest, patch: unknown): Promise<{ code: number; object: KubeObject }> {
  if (!r.query.get('fieldManager'))
    throw invalid(
      'PatchOptions.meta.k8s.io',
      '',
      [
        {
          reason: 'FieldValueRequired',
          field: 'fieldManager',
          message: 'Required value: is required for apply patch',
        },
      ],
      'meta.k8s.io',
    );
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
    throw new StatusError(400, 'BadRequest', 'an apply configuration must be an object');
  const applied = patch as KubeObject;
  applied.metadata ??= {};
  if (!isRecord(applied.metadata))
    throw invalid(
      r.info.kind,
      r.name,
      [invalidValue('metadata', applied.metadata, 'must be an object')],
      r.info.group,
    );
  if (applied.metadata.name !== undefined && applied.metadata.name !== r.name)
    throw new StatusError(
      400,
      'BadRequest',
      `the name of the object (${applied.metadata.name}) does not match the name on the URL (${r.name})`,
    );
  const current = r.ctx.store.get(r.key, r.target.namespace, r.name);
  if (!current) {
    if (r.target.subresource) r.ctx.store.mustGet(r.key, r.target.namespace, r.name);
    return {
      code: 201,
      object: createObject(r, { ...applied, metadata: { ...applied.metadata, name: r.name } }, 'Apply'),
    };
  }
  checkTypeMeta(r, applied);
  const merged = applyMergePatch(current, applied) as KubeObject;
  if (!applied.metadata.resourceVersion) merged.metadata.resourceVersion = current.metadata.resourceVersion;
  return { code: 200, object: commitUpdate(r, merged, current, 'Apply') };
}
