import { evictPod } from '../sim/disruption/eviction.ts';
import { badRequest, type FieldError, invalid } from '../status.ts';
import type { KubeObject } from '../store/types.ts';
import type { ApiRequest } from './api-request.ts';
import { invalidValue } from './field-errors.ts';
import { bool, checkShape, int, obj, str, stringMap, strings } from './field-shapes.ts';

const EVICTION_VERSIONS = ['policy/v1', 'policy/v1beta1'];

/** The fields of an Eviction the disruption simulation reads: its DeleteOptions and its labels. */
const EVICTION_SHAPE = obj({
  deleteOptions: obj({
    gracePeriodSeconds: int,
    propagationPolicy: str,
    orphanDependents: bool,
    dryRun: strings,
    preconditions: obj({ uid: str, resourceVersion: str }),
  }),
  // Note: labels are read, not kept: the sandbox counts an eviction under its run-id label (pod-disruptions.ts).
  metadata: obj({ name: str, namespace: str, labels: stringMap }),
});

/** POST `…/pods/NAME/eviction`: checks the Eviction body, then hands it to the disruption simulation. */
export async function handleEviction(r: ApiRequest): Promise<unknown> {
  const body = await r.object();
  if (body.apiVersion !== undefined && !EVICTION_VERSIONS.includes(body.apiVersion))
    throw badRequest(
      `the API version in the data (${body.apiVersion}) does not match the expected API version (policy/v1)`,
    );
  if (body.kind !== undefined && body.kind !== 'Eviction')
    throw badRequest(`the kind in the data (${body.kind}) does not match the expected kind (Eviction)`);
  const errors: FieldError[] = [];
  checkShape(body, EVICTION_SHAPE, '', errors);
  const grace = (body.deleteOptions as { gracePeriodSeconds?: unknown } | undefined)?.gracePeriodSeconds;
  if (typeof grace === 'number' && grace < 0)
    errors.push(
      invalidValue('deleteOptions.gracePeriodSeconds', grace, 'must be greater than or equal to 0'),
    );
  if (errors.length) throw invalid('Eviction', r.name, errors, 'policy');
  if (body.metadata.name !== undefined && body.metadata.name !== r.name)
    throw badRequest('name in URL does not match name in Eviction object');
  const namespace = r.target.namespace ?? '';
  if (body.metadata.namespace !== undefined && body.metadata.namespace !== namespace)
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  const eviction: KubeObject = { ...body, metadata: { ...body.metadata, name: r.name, namespace } };
  // `?dryRun=All` on the request means the same as deleteOptions.dryRun in the body: check, change nothing.
  if (r.dryRun) {
    const options = (eviction.deleteOptions ?? {}) as { dryRun?: string[] };
    eviction.deleteOptions = { ...options, dryRun: ['All'] };
  }
  evictPod(r.ctx, namespace, r.name, eviction);
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
}
