import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { SandboxContext } from '../context.ts';
import { badRequest, type GroupResource, invalid, notFound, StatusError } from '../status.ts';
import type { KubeObject } from '../store/types.ts';
import { invalidValue } from './field-errors.ts';
import { isRecord } from './field-shapes.ts';
import { parseJsonBody, readBody } from './http-io.ts';
import { fieldManagerOf } from './managed-fields.ts';
import type { ResourceTarget } from './request-path.ts';
import { apiVersionOf, type ResourceInfo, storeKey } from './resources.ts';

/** One request to a resource endpoint, as every verb handler receives it. */
export class ApiRequest {
  readonly key: string;
  readonly gr: GroupResource;
  readonly apiVersion: string;

  constructor(
    readonly ctx: SandboxContext,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly query: URLSearchParams,
    readonly target: ResourceTarget,
  ) {
    this.key = storeKey(target.info);
    this.gr = { group: target.info.group, resource: target.info.resource };
    this.apiVersion = apiVersionOf(target);
  }

  get info(): ResourceInfo {
    return this.target.info;
  }

  get dryRun(): boolean {
    return this.query.getAll('dryRun').includes('All');
  }

  get manager(): string {
    return fieldManagerOf(this.req, this.query);
  }

  get name(): string {
    return this.target.name ?? '';
  }

  /** The body as text; its media type must be JSON or YAML (or a patch type, checked by the patch handler). */
  async text(): Promise<string> {
    return readBody(this.req);
  }

  /** The body as a Kubernetes object (JSON or YAML). */
  async object(): Promise<KubeObject> {
    const type = mediaType(this.req);
    const text = await this.text();
    let body: unknown;
    if (type === 'application/json' || type === '') body = parseJsonBody(text);
    else if (type === 'application/yaml') body = parseYamlBody(text);
    else throw unsupportedMediaType(type);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw badRequest('the body of the request must be a JSON object');
    const obj = body as KubeObject;
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    else if (!isRecord(obj.metadata)) {
      const { kind, group } = this.bodyType;
      throw invalid(kind, '', [invalidValue('metadata', obj.metadata, 'must be an object')], group);
    }
    return obj;
  }

  /** The kind (and group) of the object a body of this request holds: a subresource's, or the resource's. */
  get bodyType(): { kind: string; group: string } {
    const sub = this.target.subresource;
    if (sub === 'eviction') return { kind: 'Eviction', group: 'policy' };
    if (sub === 'scale') return { kind: 'Scale', group: 'autoscaling' };
    return { kind: this.info.kind, group: this.info.group };
  }
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export function parseYamlBody(text: string): unknown {
  try {
    return parseYaml(text);
  } catch (err) {
    throw badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
}

export function unsupportedMediaType(type: string): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml${type ? ` (got ${type})` : ''}`,
  );
}

/** The object as responses carry it: with `apiVersion` and `kind` of the endpoint serving it. */
export function withTypeMeta(obj: KubeObject, info: ResourceInfo): KubeObject {
  const apiVersion = apiVersionOf(info);
  if (obj.apiVersion === apiVersion && obj.kind === info.kind) return obj;
  return { ...obj, apiVersion, kind: info.kind };
}

/**
 * JSON of one object with type meta first, as the real server writes it.
 * Note: a shallow copy with the two fields in front, not `'{"apiVersion":…,' + JSON.stringify(obj).slice(1)`:
 * that makes a cons string of a slice, which every later write to a socket flattens again (on a full pod
 * list of `large`, 400 MB more to allocate and collect).
 */
export function serializeObject(obj: KubeObject, info: ResourceInfo): string {
  const apiVersion = apiVersionOf(info);
  if (obj.apiVersion === apiVersion && obj.kind === info.kind) return JSON.stringify(obj);
  if (obj.apiVersion === undefined && obj.kind === undefined)
    return JSON.stringify({ apiVersion, kind: info.kind, ...obj });
  return JSON.stringify(withTypeMeta(obj, info));
}

/** Namespaced writes need an existing namespace, and a terminating one takes no new objects. */
export function requireNamespace(
  ctx: SandboxContext,
  namespace: string,
  gr: GroupResource,
  name: string,
): void {
  const ns = ctx.store.get('namespaces', undefined, namespace);
  if (!ns) throw notFound({ group: '', resource: 'namespaces' }, namespace);
  if (ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating') {
    const qualified = gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
    throw new StatusError(
      403,
      'Forbidden',
      `${qualified} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      {
        name,
        group: gr.group || undefined,
        kind: gr.resource,
        causes: [
          {
            reason: 'NamespaceTerminating',
            message: `namespace ${namespace} is being terminated`,
            field: 'metadata.namespace',
          },
        ],
      },
    );
  }
}
