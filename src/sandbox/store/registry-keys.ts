/**
 * Where kube-apiserver keeps each object in etcd: `/registry/<prefix>/<namespace>/<name>`, or
 * `/registry/<prefix>/<name>` for a cluster-scoped one. The prefix is the plural resource name for the
 * built-in groups (`/registry/deployments/…`, `/registry/poddisruptionbudgets/…`), with a few historical
 * exceptions (Nodes under `minions`, Services under `services/specs`, Endpoints under `services/endpoints`),
 * and `<group>/<resource>` for every other group (`/registry/apiextensions.k8s.io/customresourcedefinitions/…`,
 * and the custom resources of a CRD).
 *
 * The sandbox stores objects under the same keys, so a snapshot of its etcd reads like a real cluster's.
 * Note: unlike kube-apiserver, the sandbox keeps events.k8s.io Events apart from core Events, so they live
 * under `/registry/events.k8s.io/events/…` instead of sharing `/registry/events/…`.
 */
import type { KubeObject, ResourceKey } from './types.ts';

export const REGISTRY_ROOT = '/registry/';

/** Store key → prefix under /registry/, where it is not the generic `<group>/<resource>` or `<resource>`. */
const BUILT_IN_PREFIXES: Readonly<Record<ResourceKey, string>> = {
  nodes: 'minions',
  services: 'services/specs',
  endpoints: 'services/endpoints',
  replicationcontrollers: 'controllers',
  'apps/deployments': 'deployments',
  'apps/replicasets': 'replicasets',
  'apps/statefulsets': 'statefulsets',
  'apps/daemonsets': 'daemonsets',
  'apps/controllerrevisions': 'controllerrevisions',
  'batch/jobs': 'jobs',
  'batch/cronjobs': 'cronjobs',
  'policy/poddisruptionbudgets': 'poddisruptionbudgets',
  'autoscaling/horizontalpodautoscalers': 'horizontalpodautoscalers',
  'coordination.k8s.io/leases': 'leases',
  'storage.k8s.io/csidrivers': 'csidrivers',
  'storage.k8s.io/csinodes': 'csinodes',
  'storage.k8s.io/storageclasses': 'storageclasses',
  'storage.k8s.io/volumeattachments': 'volumeattachments',
  'admissionregistration.k8s.io/validatingwebhookconfigurations': 'validatingwebhookconfigurations',
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': 'mutatingwebhookconfigurations',
  'networking.k8s.io/networkpolicies': 'networkpolicies',
  'networking.k8s.io/ingresses': 'ingress',
  'discovery.k8s.io/endpointslices': 'endpointslices',
  'scheduling.k8s.io/priorityclasses': 'priorityclasses',
  'rbac.authorization.k8s.io/roles': 'roles',
  'rbac.authorization.k8s.io/rolebindings': 'rolebindings',
  'rbac.authorization.k8s.io/clusterroles': 'clusterroles',
  'rbac.authorization.k8s.io/clusterrolebindings': 'clusterrolebindings',
};

const RESOURCE_OF_PREFIX = new Map(Object.entries(BUILT_IN_PREFIXES).map(([key, prefix]) => [prefix, key]));

/** The prefix of a resource's keys, with its trailing slash: `/registry/deployments/`. */
export function registryPrefix(resource: ResourceKey): string {
  return `${REGISTRY_ROOT}${BUILT_IN_PREFIXES[resource] ?? resource}/`;
}

/** The etcd key of one object of `resource`. */
export function registryKey(resource: ResourceKey, namespace: string | undefined, name: string): string {
  return `${registryPrefix(resource)}${namespace ? `${namespace}/` : ''}${name}`;
}

export function registryKeyOf(resource: ResourceKey, obj: KubeObject): string {
  return registryKey(resource, obj.metadata.namespace, obj.metadata.name ?? '');
}

export interface ParsedRegistryKey {
  resource: ResourceKey;
  namespace?: string;
  name: string;
}

/**
 * The resource, namespace and name an etcd key stands for, or undefined when it is not an object key.
 * Note: names and namespaces never contain '/', so the segments after the prefix say the scope: two for a
 * namespaced object, one for a cluster-scoped one. A group always contains a dot (CRD groups must; the
 * dotless built-in groups are all in the table), which tells `<group>/<resource>/…` from `<resource>/…`.
 */
export function parseRegistryKey(key: string): ParsedRegistryKey | undefined {
  if (!key.startsWith(REGISTRY_ROOT)) return undefined;
  const parts = key.slice(REGISTRY_ROOT.length).split('/');
  let resource: ResourceKey | undefined;
  let rest: string[];
  const twoSegments = RESOURCE_OF_PREFIX.get(`${parts[0]}/${parts[1]}`);
  if (twoSegments) {
    resource = twoSegments;
    rest = parts.slice(2);
  } else if (RESOURCE_OF_PREFIX.has(parts[0]!)) {
    resource = RESOURCE_OF_PREFIX.get(parts[0]!);
    rest = parts.slice(1);
  } else if (parts[0]!.includes('.')) {
    resource = `${parts[0]}/${parts[1]}`;
    rest = parts.slice(2);
  } else {
    resource = parts[0];
    rest = parts.slice(1);
  }
  if (!resource || rest.some((p) => p === '')) return undefined;
  if (rest.length === 2) return { resource, namespace: rest[0], name: rest[1]! };
  if (rest.length === 1) return { resource, name: rest[0]! };
  return undefined;
}
