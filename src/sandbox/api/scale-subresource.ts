import { formatLabelSelector } from '../../core/selectors.ts';
import { badRequest, conflict, invalid, STALE_OBJECT } from '../status.ts';
import type { KubeObject } from '../store/types.ts';
import { type ApiRequest, mediaType } from './api-request.ts';
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
  const replicas = scale.spec?.replicas;
  if (!Number.isInteger(replicas) || replicas < 0)
    throw invalid(
      'Scale',
      r.name,
      [
        {
          reason: 'FieldValueInvalid',
          field: 'spec.replicas',
          message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        },
      ],
      'autoscaling',
    );
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
