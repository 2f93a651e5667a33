/**
 * What is running where: the control plane's component versions, every node's versions and state, node
 * pools, and the add-ons recognised from their images. Pure: `midflight inventory` renders it.
 */
import { clusterModelOf, compareNames } from './cluster-model.ts';
import type { ClusterSnapshot, Workload } from './snapshot.ts';
import { formatVersion } from './versions.ts';

export interface ControlPlaneInventory {
  node: string;
  apiserver?: string;
  controllerManager?: string;
  scheduler?: string;
  etcd?: string;
}

export interface NodeInventory {
  name: string;
  pool: string;
  roles: string[];
  kubelet?: string;
  containerRuntime?: string;
  osImage?: string;
  kernel?: string;
  ready: boolean;
  schedulable: boolean;
}

export interface PoolInventory {
  name: string;
  nodes: number;
  ready: number;
  /** Distinct kubelet versions in the pool, oldest first. */
  kubeletVersions: string[];
}

export const ADDON_CATEGORIES = ['cni', 'kube-proxy', 'dns', 'csi', 'ingress', 'metrics'] as const;
export type AddonCategory = (typeof ADDON_CATEGORIES)[number];

export interface AddonInventory {
  name: string;
  category: AddonCategory;
  /** Where it runs, e.g. "DaemonSet kube-system/calico-node"; CSI drivers without a workload: "CSIDriver". */
  workload: string;
  version?: string;
  image?: string;
}

export interface Inventory {
  server: { url: string; version: string; clusterId?: string };
  controlPlane: ControlPlaneInventory[];
  nodes: NodeInventory[];
  pools: PoolInventory[];
  addons: AddonInventory[];
  counts: {
    nodes: number;
    pods: number;
    namespaces: number;
    crds: number;
    validatingWebhooks: number;
    mutatingWebhooks: number;
    helmReleases: number;
  };
}

export interface InventoryOptions {
  /** The node label naming pools, tried before the well-known ones. */
  poolLabel?: string;
}

interface AddonPattern {
  name: string;
  category: AddonCategory;
  /** Matches the image repository without registry host and tag, e.g. "calico/node". */
  image: RegExp;
}

/**
 * Recognised by image repository, the most reliable trace an add-on leaves (workload names vary by
 * installer). Note: order matters: the first pattern a workload's container matches names it.
 */
const ADDON_PATTERNS: readonly AddonPattern[] = [
  { name: 'calico', category: 'cni', image: /(^|\/)calico\/node$/ },
  { name: 'cilium', category: 'cni', image: /(^|\/)cilium\/cilium$/ },
  { name: 'flannel', category: 'cni', image: /(^|\/)flannel(-io)?\/flannel$|(^|\/)coreos\/flannel$/ },
  { name: 'weave-net', category: 'cni', image: /(^|\/)weaveworks\/weave-kube$/ },
  { name: 'kube-proxy', category: 'kube-proxy', image: /(^|\/)kube-proxy$/ },
  { name: 'coredns', category: 'dns', image: /(^|\/)coredns$/ },
  { name: 'kube-dns', category: 'dns', image: /(^|\/)k8s-dns-kube-dns(-amd64)?$/ },
  { name: 'metrics-server', category: 'metrics', image: /(^|\/)metrics-server(-amd64)?$/ },
  {
    name: 'ingress-nginx',
    category: 'ingress',
    image: /(^|\/)ingress-nginx\/controller$|(^|\/)nginx-ingress-controller$/,
  },
  { name: 'traefik', category: 'ingress', image: /(^|\/)traefik$/ },
  { name: 'haproxy-ingress', category: 'ingress', image: /(^|\/)haproxy-ingress$/ },
  { name: 'contour', category: 'ingress', image: /(^|\/)contour$/ },
  { name: 'kong', category: 'ingress', image: /(^|\/)kong(-gateway)?$/ },
];

/** Workloads named like an add-on whose image we do not recognise (a mirror registry, a custom build). */
const ADDON_NAMES: Readonly<Record<string, AddonPattern['name']>> = {
  'calico-node': 'calico',
  cilium: 'cilium',
  'kube-flannel-ds': 'flannel',
  'weave-net': 'weave-net',
  'kube-proxy': 'kube-proxy',
  coredns: 'coredns',
  'kube-dns': 'kube-dns',
  'metrics-server': 'metrics-server',
  'ingress-nginx-controller': 'ingress-nginx',
  'ingress-nginx': 'ingress-nginx',
  traefik: 'traefik',
};

export function buildInventory(snapshot: ClusterSnapshot, options: InventoryOptions = {}): Inventory {
  const model = clusterModelOf(snapshot, options.poolLabel);
  const version = (v: { major: number; minor: number; patch: number; suffix: string } | undefined) =>
    v ? formatVersion(v) : undefined;

  const controlPlane = model.controlPlane.map((m) => ({
    node: m.node,
    apiserver: version(m.components['kube-apiserver']),
    controllerManager: version(m.components['kube-controller-manager']),
    scheduler: version(m.components['kube-scheduler']),
    etcd: m.etcd,
  }));

  const nodes: NodeInventory[] = model.nodes.map((n) => {
    const info = n.node.status?.nodeInfo ?? {};
    return {
      name: n.name,
      pool: n.pool,
      roles: rolesOf(n.node.metadata.labels),
      kubelet: info.kubeletVersion,
      containerRuntime: info.containerRuntimeVersion,
      osImage: info.osImage,
      kernel: info.kernelVersion,
      ready: n.ready,
      schedulable: !n.cordoned,
    };
  });

  const pools: PoolInventory[] = [...model.pools.entries()].map(([name, members]) => ({
    name,
    nodes: members.length,
    ready: members.filter((n) => n.ready).length,
    kubeletVersions: [...new Set(members.map((n) => n.node.status?.nodeInfo?.kubeletVersion ?? '?'))].sort(
      compareNames,
    ),
  }));

  return {
    server: { url: snapshot.server.url, version: snapshot.server.gitVersion, clusterId: snapshot.clusterId },
    controlPlane,
    nodes,
    pools,
    addons: recogniseAddons(snapshot),
    counts: {
      nodes: snapshot.nodes.length,
      pods: snapshot.pods.length,
      namespaces: snapshot.namespaces.length,
      crds: snapshot.crds.length,
      validatingWebhooks: countWebhooks(snapshot, 'ValidatingWebhookConfiguration'),
      mutatingWebhooks: countWebhooks(snapshot, 'MutatingWebhookConfiguration'),
      helmReleases: new Set(snapshot.helmReleases.map((r) => `${r.namespace}/${r.name}`)).size,
    },
  };
}

/** Add-ons from Deployments and DaemonSets (any namespace), plus every CSIDriver object. */
export function recogniseAddons(snapshot: ClusterSnapshot): AddonInventory[] {
  const found: AddonInventory[] = [];
  for (const w of snapshot.workloads) {
    if (w.kind !== 'Deployment' && w.kind !== 'DaemonSet' && w.kind !== 'StatefulSet') continue;
    const addon = addonOfWorkload(w);
    if (addon) found.push(addon);
  }
  for (const driver of snapshot.csiDrivers) {
    const name = driver.metadata.name;
    const workload = csiWorkloadOf(snapshot.workloads, name);
    found.push({
      name,
      category: 'csi',
      workload: workload ? workloadLabel(workload.workload) : 'CSIDriver',
      version: workload?.version,
      image: workload?.image,
    });
  }
  return found.sort(
    (a, b) =>
      ADDON_CATEGORIES.indexOf(a.category) - ADDON_CATEGORIES.indexOf(b.category) ||
      a.name.localeCompare(b.name) ||
      a.workload.localeCompare(b.workload),
  );
}

function addonOfWorkload(w: Workload): AddonInventory | undefined {
  const containers = w.spec?.template?.spec?.containers ?? [];
  for (const c of containers) {
    const { repository, tag } = splitImage(c.image);
    const pattern = ADDON_PATTERNS.find((p) => p.image.test(repository));
    if (pattern) {
      return {
        name: pattern.name,
        category: pattern.category,
        workload: workloadLabel(w),
        version: tag,
        image: c.image,
      };
    }
  }
  const byName = ADDON_NAMES[w.metadata.name];
  const pattern = byName && ADDON_PATTERNS.find((p) => p.name === byName);
  if (!pattern) return undefined;
  const labels = w.metadata.labels ?? {};
  return {
    name: pattern.name,
    category: pattern.category,
    workload: workloadLabel(w),
    version: labels['app.kubernetes.io/version'],
    image: containers[0]?.image,
  };
}

/**
 * The workload running a CSI driver's plugin: a container whose image mentions the driver's first name
 * label ("hostpath" for hostpath.csi.k8s.io, "ebs" for ebs.csi.aws.com) and is not a sidecar.
 */
function csiWorkloadOf(
  workloads: readonly Workload[],
  driver: string,
): { workload: Workload; version?: string; image?: string } | undefined {
  const stem = driver.split('.')[0]!.toLowerCase();
  if (!stem) return undefined;
  for (const w of workloads) {
    if (w.kind !== 'DaemonSet' && w.kind !== 'Deployment' && w.kind !== 'StatefulSet') continue;
    for (const c of w.spec?.template?.spec?.containers ?? []) {
      const { repository, tag } = splitImage(c.image);
      const last = repository.slice(repository.lastIndexOf('/') + 1);
      if (last.startsWith('csi-') || last === 'livenessprobe') continue;
      if (last.includes(stem)) return { workload: w, version: tag, image: c.image };
    }
  }
  return undefined;
}

/** `docker.io/calico/node:v3.27.0@sha256:…` → repository "calico/node", tag "v3.27.0". */
export function splitImage(image: string | undefined): { repository: string; tag?: string } {
  if (!image) return { repository: '' };
  const at = image.indexOf('@');
  let ref = at >= 0 ? image.slice(0, at) : image;
  let tag: string | undefined;
  const colon = ref.lastIndexOf(':');
  if (colon >= 0 && ref.indexOf('/', colon) < 0) {
    tag = ref.slice(colon + 1);
    ref = ref.slice(0, colon);
  }
  const parts = ref.split('/');
  // A first part with a dot or a port, or "localhost", is a registry host.
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!)) parts.shift();
  return { repository: parts.join('/'), tag };
}

function workloadLabel(w: Workload): string {
  return `${w.kind} ${w.metadata.namespace ?? 'default'}/${w.metadata.name}`;
}

function rolesOf(labels: Record<string, string> | undefined): string[] {
  const roles = Object.keys(labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean);
  return roles.sort();
}

function countWebhooks(snapshot: ClusterSnapshot, kind: string): number {
  return snapshot.webhooks.filter((w) => w.kind === kind).reduce((n, w) => n + (w.webhooks?.length ?? 0), 0);
}
