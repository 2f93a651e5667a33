import { REVIEW_GROUPS, reviewKind, reviewResources } from './access-review.ts';
import { ALL_VERBS, apiVersionOf, RESOURCES, type ResourceInfo } from './resources.ts';

/**
 * Legacy (unaggregated) discovery documents built from RESOURCES. kubectl first asks for aggregated discovery
 * (`as=APIGroupDiscoveryList`) and falls back to these when the answer is plain `application/json`.
 */
export function coreVersions(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupVersions(): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const r of RESOURCES) {
    if (!r.group) continue;
    const versions = groups.get(r.group) ?? [];
    if (!versions.includes(r.version)) versions.push(r.version);
    groups.set(r.group, versions);
  }
  for (const group of Object.keys(REVIEW_GROUPS)) groups.set(group, ['v1']);
  return groups;
}

function apiGroup(name: string, versions: string[]) {
  const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: entries, preferredVersion: entries[0] };
}

export function groupList(): unknown {
  const groups = [...groupVersions()].map(([name, versions]) => apiGroup(name, versions));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function groupDocument(group: string): unknown | undefined {
  const versions = groupVersions().get(group);
  return versions ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, versions) } : undefined;
}

export function resourceList(group: string, version: string): unknown {
  const resources: unknown[] = [];
  for (const r of RESOURCES) {
    if (r.group !== group || r.version !== version) continue;
    resources.push(mainEntry(r));
    for (const sub of r.subresources) resources.push(subresourceEntry(r, sub));
  }
  if (version === 'v1')
    for (const name of reviewResources(group))
      resources.push({
        name,
        singularName: '',
        namespaced: false,
        kind: reviewKind(name),
        verbs: ['create'],
      });
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf({ group, version }),
    resources,
  };
}

function mainEntry(r: ResourceInfo) {
  return {
    name: r.resource,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: ALL_VERBS,
    ...(r.shortNames ? { shortNames: r.shortNames } : {}),
    ...(r.categories ? { categories: r.categories } : {}),
  };
}

function subresourceEntry(r: ResourceInfo, sub: ResourceInfo['subresources'][number]) {
  const base = { name: `${r.resource}/${sub}`, singularName: '', namespaced: r.namespaced };
  switch (sub) {
    case 'status':
      return { ...base, kind: r.kind, verbs: ['get', 'patch', 'update'] };
    case 'scale':
      return {
        ...base,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
      };
    case 'eviction':
      return { ...base, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] };
    case 'log':
      return { ...base, kind: r.kind, verbs: ['get'] };
  }
}
