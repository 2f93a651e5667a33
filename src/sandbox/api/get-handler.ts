import type { KubeObject } from '../store/types.ts';
import type { ApiRequest } from './api-request.ts';
import { columnDefinitions, parseIncludeObject, tableRow, wantsTable } from './table-printer.ts';

/**
 * GET of one object (or its status, which is the whole object): the stored object, which the server renders
 * with its endpoint's type meta; a Table when the client asks for one.
 */
export function handleGet(r: ApiRequest): { object: KubeObject } | { table: unknown } {
  const obj: KubeObject = r.ctx.store.mustGet(r.key, r.target.namespace, r.name);
  if (wantsTable(r.req.headers.accept) && !r.target.subresource) {
    const table = {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: obj.metadata.resourceVersion },
      columnDefinitions: columnDefinitions(r.key),
      rows: [tableRow(r.key, obj, r.ctx.clock.now(), parseIncludeObject(r.query.get('includeObject')))],
    };
    return { table };
  }
  return { object: obj };
}
