import { badRequest } from '../status.ts';
import type { KubeObject } from '../store/types.ts';
import type { ApiRequest } from './api-request.ts';
import { commitUpdate } from './commit-update.ts';
import { checkNamespace, checkTypeMeta } from './create-handler.ts';

/** PUT of an object or its status: a full replacement, conditional on a non-empty resourceVersion. */
export async function handleUpdate(r: ApiRequest): Promise<KubeObject> {
  const body = await r.object();
  checkTypeMeta(r, body);
  if (body.metadata.name !== r.name)
    throw badRequest(
      `the name of the object (${body.metadata.name ?? ''}) does not match the name on the URL (${r.name})`,
    );
  checkNamespace(r, body);
  const previous = r.ctx.store.mustGet(r.key, r.target.namespace, r.name);
  return commitUpdate(r, body, previous);
}
