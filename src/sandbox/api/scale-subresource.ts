import { formatLabelSelector } from '../../core/index.ts';
import { badRequest, conflict, type FieldError, invalid, STALE_OBJECT } from '../status.ts';
import type { KubeObject } from '../store/types.ts';
import { type ApiRequest, mediaType } from './api-request.ts';
import { invalidValue, required } from './field-errors.ts';
import { isRecord } from './field-shapes.ts';
import { parseJsonBody } from './http-io.ts';
import { recordManagedFields } from './managed-fields.ts';
import { applyPatch, PATCH_TYPES } from './patch-handler.ts';

/** The autoscaling/v1 Scale view of a Deployment, ReplicaSet or StatefulSet. */
export function scaleOf(obj: KubeObject): KubeObject {
  let selector = '';
  try {
    selector = obj.spec?.selector ? formatLabelSelector(obj.spec.selector) : '';
  } catch {
    selector = '';
  }
  const m = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: { replicas: obj.status?.replicas ?? 0, selector },
  };
}

/** GET, PUT or PATCH of `…/scale`: only spec.replicas of the object changes. */
export async function handleScale(r: ApiRequest, method: string): Promise<KubeObject> {
  const store = r.ctx.store;
  const current = store.mustGet(r.key, r.target.namespace, r.name);
  if (method === 'GET') return scaleOf(current);
  let scale: KubeObject;
  if (method === 'PUT') {
    scale = (await r.object()) as KubeObject;
  } else {
    const type = mediaType(r.req);
    if (!(PATCH_TYPES as readonly string[]).includes(type) || type === 'application/apply-patch+yaml')
      throw badRequest(`unsupported patch type for scale: ${type}`);
    scale = applyPatch(type as (typeof PATCH_TYPES)[number], scaleOf(current), parseJsonBody(await r.text()));
  }
  const problem = isRecord(scale)
    ? replicasProblem(scale.spec)
    : invalidValue('patch', scale, 'the patched object must be a JSON object');
  if (problem) throw invalid('Scale', r.name, [problem], 'autoscaling');
  const replicas = scale.spec.replicas as number;
  const rv = scale.metadata?.resourceVersion;
  if (rv && rv !== current.metadata.resourceVersion) throw conflict(r.gr, r.name, STALE_OBJECT);
  const next = structuredClone(current);
  next.spec = { ...(next.spec ?? {}), replicas };
  recordManagedFields(next, current, {
    manager: r.manager,
    operation: 'Update',
    apiVersion: 'autoscaling/v1',
    now: r.ctx.clock.now(),
    subresource: 'scale',
  });
  if (r.dryRun) return scaleOf(next);
  return scaleOf(store.update(r.key, next));
}

/** What is wrong with a Scale's spec.replicas (a non-negative integer), or undefined when nothing is. */
function replicasProblem(spec: unknown): FieldError | undefined {
  if (!isRecord(spec))
    return spec == null ? required('spec.replicas') : invalidValue('spec', spec, 'must be an object');
  const replicas = spec.replicas;
  if (replicas === undefined || replicas === null) return required('spec.replicas');
  if (!Number.isSafeInteger(replicas)) return invalidValue('spec.replicas', replicas, 'must be an integer');
  if ((replicas as number) < 0)
    return invalidValue('spec.replicas', replicas, 'must be greater than or equal to 0');
  return undefined;
}
