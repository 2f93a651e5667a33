import { apiVersionOf, RESOURCES, type ResourceInfo } from './resources.ts';

/**
 * A minimal OpenAPI v3 surface. kubectl (apply, create, replace) validates manifests: it first asks the
 * OpenAPI v3 document of the group version whether PATCH takes `fieldValidation`, and when it does it leaves
 * validation to the server instead of downloading the full schema. So each document lists, per resource,
 * the PATCH operation with its group-version-kind and that one parameter; no schemas. PATCH operations carry
 * no requestBody, which makes kubectl compute strategic merge patches from its built-in types.
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
  for (const r of RESOURCES) {
    if (r.group !== gv.group || r.version !== gv.version) continue;
    paths[objectPath(r)] = { patch: patchOperation(r) };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'unversioned' },
    paths,
    components: { schemas: {} },
  };
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
