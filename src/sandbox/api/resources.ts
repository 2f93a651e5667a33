/**
 * The resources the sandbox API server serves, as discovery describes them. One row per resource; the
 * router, discovery documents and the object store are all driven from this table.
 */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural, lower case: the URL segment. */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  subresources: Array<'status' | 'eviction' | 'scale' | 'log'>;
  /**
   * Served as a CustomResourceDefinition's resource would be (Cluster API's): no strategic merge patch, as
   * kube-apiserver refuses it for custom resources.
   */
  custom?: boolean;
}

export const ALL_VERBS: Verb[] = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

function r(
  group: string,
  version: string,
  resource: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<
    Pick<ResourceInfo, 'shortNames' | 'categories' | 'subresources' | 'singular' | 'custom'>
  > = {},
): ResourceInfo {
  return {
    group,
    version,
    resource,
    kind,
    namespaced,
    singular: extra.singular ?? kind.toLowerCase(),
    shortNames: extra.shortNames,
    categories: extra.categories,
    subresources: extra.subresources ?? [],
    ...(extra.custom ? { custom: true } : {}),
  };
}

export const RESOURCES: readonly ResourceInfo[] = [
  r('', 'v1', 'namespaces', 'Namespace', false, { shortNames: ['ns'], subresources: ['status'] }),
  r('', 'v1', 'nodes', 'Node', false, { shortNames: ['no'], subresources: ['status'] }),
  r('', 'v1', 'pods', 'Pod', true, {
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status', 'eviction', 'log'],
  }),
  r('', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  r('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  r('', 'v1', 'secrets', 'Secret', true),
  r('', 'v1', 'services', 'Service', true, {
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status'],
  }),
  r('', 'v1', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
  r('', 'v1', 'endpoints', 'Endpoints', true, { shortNames: ['ep'], singular: 'endpoints' }),
  r('apps', 'v1', 'deployments', 'Deployment', true, {
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
  }),
  r('apps', 'v1', 'replicasets', 'ReplicaSet', true, {
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status', 'scale'],
  }),
  r('apps', 'v1', 'statefulsets', 'StatefulSet', true, {
    shortNames: ['sts'],
    categories: ['all'],
    subresources: ['status', 'scale'],
  }),
  r('apps', 'v1', 'daemonsets', 'DaemonSet', true, {
    shortNames: ['ds'],
    categories: ['all'],
    subresources: ['status'],
  }),
  r('apps', 'v1', 'controllerrevisions', 'ControllerRevision', true),
  r('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, {
    shortNames: ['pdb'],
    subresources: ['status'],
  }),
  r('batch', 'v1', 'jobs', 'Job', true, { categories: ['all'], subresources: ['status'] }),
  r('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
  r('events.k8s.io', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  r(
    'admissionregistration.k8s.io',
    'v1',
    'validatingwebhookconfigurations',
    'ValidatingWebhookConfiguration',
    false,
  ),
  r(
    'admissionregistration.k8s.io',
    'v1',
    'mutatingwebhookconfigurations',
    'MutatingWebhookConfiguration',
    false,
  ),
  r('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, {
    shortNames: ['crd', 'crds'],
    subresources: ['status'],
  }),
  r('storage.k8s.io', 'v1', 'csidrivers', 'CSIDriver', false),
  r('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false, { shortNames: ['sc'] }),
  r('storage.k8s.io', 'v1', 'volumeattachments', 'VolumeAttachment', false, { subresources: ['status'] }),
  // Cluster API's, as its CRDs declare them (status and scale subresources, the cluster-api category); a
  // simulated controller runs behind them (sim/cluster-api-controller.ts).
  r('cluster.x-k8s.io', 'v1beta1', 'machinedeployments', 'MachineDeployment', true, {
    shortNames: ['md'],
    categories: ['cluster-api'],
    subresources: ['status', 'scale'],
    custom: true,
  }),
  r('cluster.x-k8s.io', 'v1beta1', 'machinesets', 'MachineSet', true, {
    shortNames: ['ms'],
    categories: ['cluster-api'],
    subresources: ['status', 'scale'],
    custom: true,
  }),
  r('cluster.x-k8s.io', 'v1beta1', 'machines', 'Machine', true, {
    shortNames: ['ma'],
    categories: ['cluster-api'],
    subresources: ['status'],
    custom: true,
  }),
];

/** The object store's key for a resource: "pods", "apps/deployments". */
export function storeKey(info: Pick<ResourceInfo, 'group' | 'resource'>): string {
  return info.group ? `${info.group}/${info.resource}` : info.resource;
}

/** "v1" for the core group, "apps/v1" otherwise: the apiVersion objects of this resource carry. */
export function apiVersionOf(info: Pick<ResourceInfo, 'group' | 'version'>): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return RESOURCES.find((x) => x.group === group && x.version === version && x.resource === resource);
}

/** Store keys of the resources the simulation itself uses, so actors never misspell one. */
export const R = {
  namespaces: 'namespaces',
  nodes: 'nodes',
  pods: 'pods',
  events: 'events',
  configmaps: 'configmaps',
  secrets: 'secrets',
  services: 'services',
  serviceaccounts: 'serviceaccounts',
  deployments: 'apps/deployments',
  replicasets: 'apps/replicasets',
  statefulsets: 'apps/statefulsets',
  daemonsets: 'apps/daemonsets',
  pdbs: 'policy/poddisruptionbudgets',
  jobs: 'batch/jobs',
  leases: 'coordination.k8s.io/leases',
  crds: 'apiextensions.k8s.io/customresourcedefinitions',
  csidrivers: 'storage.k8s.io/csidrivers',
  storageclasses: 'storage.k8s.io/storageclasses',
  volumeattachments: 'storage.k8s.io/volumeattachments',
  validatingwebhooks: 'admissionregistration.k8s.io/validatingwebhookconfigurations',
  mutatingwebhooks: 'admissionregistration.k8s.io/mutatingwebhookconfigurations',
  machinedeployments: 'cluster.x-k8s.io/machinedeployments',
  machinesets: 'cluster.x-k8s.io/machinesets',
  machines: 'cluster.x-k8s.io/machines',
} as const;
