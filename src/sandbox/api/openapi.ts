import type { Shape } from './field-shapes.ts';
import { shapeOf } from './resource-shapes.ts';
import { apiVersionOf, RESOURCES, type ResourceInfo, storeKey } from './resources.ts';

/**
 * The OpenAPI v3 documents, one per group version, built from the same shapes the server checks bodies
 * against (resource-shapes.ts), so what `kubectl explain` shows is what the sandbox accepts.
 *
 * kubectl (apply, create, replace) asks a document whether PATCH takes `fieldValidation`; it does, so kubectl
 * leaves validation to the server. IMPORTANT: PATCH operations carry no requestBody, which makes kubectl
 * compute strategic merge patches from its built-in types (list merge keys included) rather than from these
 * schemas, which have no patch extensions. `kubectl explain` finds a kind's schema by its
 * x-kubernetes-group-version-kind. Every object schema says x-kubernetes-preserve-unknown-fields: the shapes
 * name the fields the sandbox checks and simulates, and it keeps the others as sent.
 */
const HASH = 'midflight-sandbox-1';

function groupVersions(): Array<{ group: string; version: string }> {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) seen.set(apiVersionOf(r), { group: r.group, version: r.version });
  return [...seen.values()];
}

function docPath({ group, version }: { group: string; version: string }): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

export function openApiV3Root(): unknown {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of groupVersions())
    paths[docPath(gv)] = { serverRelativeURL: `/openapi/v3/${docPath(gv)}?hash=${HASH}` };
  return { paths };
}

/** The document at `/openapi/v3/<rest>`, or undefined when there is none. */
export function openApiV3Document(rest: string): unknown | undefined {
  const gv = groupVersions().find((x) => `/${docPath(x)}` === rest);
  if (!gv) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const r of RESOURCES) {
    if (r.group !== gv.group || r.version !== gv.version) continue;
    paths[objectPath(r)] = { patch: patchOperation(r) };
    schemas[schemaName(r)] = kindSchema(r);
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'unversioned' },
    paths,
    components: { schemas },
  };
}

/** As Kubernetes names its definitions: io.k8s.api.core.v1.Pod, io.k8s.api.apps.v1.Deployment. */
function schemaName(r: ResourceInfo): string {
  return `io.k8s.api.${r.group ? r.group.split('.')[0] : 'core'}.${r.version}.${r.kind}`;
}

function kindSchema(r: ResourceInfo): unknown {
  return {
    ...schemaOf(shapeOf(storeKey(r))),
    description: `${r.kind} (${apiVersionOf(r)}), as the Midflight sandbox serves it: the fields listed are those it checks and simulates; it keeps other fields as sent.`,
    'x-kubernetes-group-version-kind': [{ group: r.group, kind: r.kind, version: r.version }],
  };
}

/** The OpenAPI v3 schema of a shape, with the types and formats Kubernetes publishes for them. */
export function schemaOf(shape: Shape): Record<string, unknown> {
  switch (shape.kind) {
    case 'string':
    case 'boolean':
    case 'integer':
    case 'number':
      return { type: shape.kind };
    case 'intOrString':
      return { type: 'string', format: 'int-or-string', 'x-kubernetes-int-or-string': true };
    case 'time':
      return { type: 'string', format: 'date-time' };
    case 'base64':
      return { type: 'string', format: 'byte' };
    case 'quantity':
      return { type: 'string', format: 'quantity' };
    case 'any':
      return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    case 'list':
      return { type: 'array', items: schemaOf(shape.items) };
    case 'map':
      return { type: 'object', additionalProperties: schemaOf(shape.values) };
    case 'object': {
      const properties: Record<string, unknown> = {};
      for (const [field, fieldShape] of Object.entries(shape.fields))
        properties[field] = schemaOf(fieldShape);
      return { type: 'object', properties, 'x-kubernetes-preserve-unknown-fields': true };
    }
  }
}

function objectPath(r: ResourceInfo): string {
  const prefix = `/${docPath(r)}`;
  return r.namespaced
    ? `${prefix}/namespaces/{namespace}/${r.resource}/{name}`
    : `${prefix}/${r.resource}/{name}`;
}

function patchOperation(r: ResourceInfo): unknown {
  const query = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
  return {
    operationId: `patch${r.namespaced ? 'Namespaced' : ''}${r.kind}`,
    parameters: [query('dryRun'), query('fieldManager'), query('fieldValidation'), query('force')],
    responses: { '200': { description: 'OK' } },
    'x-kubernetes-action': 'patch',
    'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
  };
}
