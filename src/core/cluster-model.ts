/**
 * Indexes and derived facts over a ClusterSnapshot, built once and shared by every check and the planner:
 * node pools, pods per node, pod owners (pod → ReplicaSet → Deployment), budgets per pod, control-plane
 * members and the versions of their components.
 *
 * Note: the model is memoised per snapshot object and pool label (see clusterModelOf), because each preflight
 * check takes the snapshot and the large scenario has 150,000 pods.
 */
import { matchesRequirements, parseLabelSelector, type Requirement, requirementsOf } from './selectors.ts';
import type { SkewComponent } from './skew.ts';
import type { ClusterSnapshot, Node, Pod, PodDisruptionBudget, Workload } from './snapshot.ts';
import { compareVersions, type KubeVersion, tryParseVersion, versionFromImage } from './versions.ts';

/** Labels that name a node's pool, most specific first (after the one a policy names). */
export const DEFAULT_POOL_LABELS = [
  'node.kubernetes.io/pool',
  'midflight.dev/pool',
  'cloud.google.com/gke-nodepool',
  'eks.amazonaws.com/nodegroup',
  'kubernetes.azure.com/agentpool',
  'karpenter.sh/nodepool',
] as const;

export const CONTROL_PLANE_POOL = 'control-plane';
export const DEFAULT_POOL = 'default';
const ROLE_PREFIX = 'node-role.kubernetes.io/';

export function isControlPlaneNode(node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  return `${ROLE_PREFIX}control-plane` in labels || `${ROLE_PREFIX}master` in labels;
}

/** The pool a node belongs to: control-plane nodes always form their own pool. */
export function poolOfNode(node: Node, poolLabel?: string): string {
  if (isControlPlaneNode(node)) return CONTROL_PLANE_POOL;
  const labels = node.metadata.labels ?? {};
  for (const key of poolLabel ? [poolLabel, ...DEFAULT_POOL_LABELS] : DEFAULT_POOL_LABELS) {
    const value = labels[key];
    if (value) return value;
  }
  for (const key of Object.keys(labels).sort()) {
    if (key.startsWith(ROLE_PREFIX)) {
      const role = key.slice(ROLE_PREFIX.length);
      if (role) return role;
    }
  }
  return DEFAULT_POOL;
}

export function conditionStatus(
  conditions: Array<{ type: string; status: string }> | undefined,
  type: string,
): string | undefined {
  return conditions?.find((c) => c.type === type)?.status;
}

export function isNodeReady(node: Node): boolean {
  return conditionStatus(node.status?.conditions, 'Ready') === 'True';
}

export function isPodReady(pod: Pod): boolean {
  return conditionStatus(pod.status?.conditions, 'Ready') === 'True';
}

/**
 * Ready and not terminating: a pod its disruption budget counts healthy, whose eviction therefore needs the
 * budget's permission (one of its disruptionsAllowed).
 */
export function isHealthyForBudget(pod: Pod): boolean {
  return isPodReady(pod) && !pod.metadata.deletionTimestamp;
}

export function isMirrorPod(pod: Pod): boolean {
  return pod.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined;
}

export function isTerminalPod(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

export function controllerRefOf(pod: { metadata: Pod['metadata'] }) {
  return pod.metadata.ownerReferences?.find((o) => o.controller);
}

export function isDaemonSetPod(pod: Pod): boolean {
  return controllerRefOf(pod)?.kind === 'DaemonSet';
}

export function hasEmptyDir(pod: Pod): boolean {
  return (pod.spec.volumes ?? []).some((v) => v.emptyDir !== undefined);
}

/** Pods a drain evicts (kubectl drain with --ignore-daemonsets): not mirror, not DaemonSet, not finished. */
export function isEvictable(pod: Pod): boolean {
  return !isMirrorPod(pod) && !isDaemonSetPod(pod) && !isTerminalPod(pod) && !pod.metadata.deletionTimestamp;
}

export interface PodOwner {
  kind: string;
  namespace: string;
  name: string;
}

export interface NodeModel {
  node: Node;
  name: string;
  pool: string;
  controlPlane: boolean;
  ready: boolean;
  cordoned: boolean;
  kubelet?: KubeVersion;
  pods: Pod[];
}

export interface ControlPlaneMember {
  node: string;
  /** Versions of the static pods found on the node (kube-apiserver, kube-controller-manager, kube-scheduler). */
  components: Partial<Record<SkewComponent, KubeVersion>>;
  etcd?: string;
}

export interface ClusterModel {
  snapshot: ClusterSnapshot;
  /** The version `/version` reports (the apiserver the reader talked to). */
  serverVersion?: KubeVersion;
  nodes: NodeModel[];
  nodeByName: Map<string, NodeModel>;
  /** Pool name → its nodes sorted by name; pools in name order. */
  pools: Map<string, NodeModel[]>;
  controlPlane: ControlPlaneMember[];
  /** Every apiserver version seen: static pods when self-managed, else the `/version` answer. */
  apiserverVersions: KubeVersion[];
  /** The top controller of a pod (Deployment rather than its ReplicaSet), or undefined for a bare pod. */
  ownerOf(pod: Pod): PodOwner | undefined;
  workload(kind: string, namespace: string, name: string): Workload | undefined;
  budgetsOf(pod: Pod): PodDisruptionBudget[];
  /** Budgets in a namespace whose selector matches these labels (e.g. a pod template's). */
  budgetsMatching(namespace: string, labels: Record<string, string> | undefined): PodDisruptionBudget[];
  podsOfBudget(pdb: PodDisruptionBudget): Pod[];
}

const cache = new WeakMap<ClusterSnapshot, Map<string, ClusterModel>>();

/** The (memoised) model of a snapshot; the snapshot must not be mutated afterwards. */
export function clusterModelOf(snapshot: ClusterSnapshot, poolLabel?: string): ClusterModel {
  let byLabel = cache.get(snapshot);
  if (!byLabel) {
    byLabel = new Map();
    cache.set(snapshot, byLabel);
  }
  const key = poolLabel ?? '';
  let model = byLabel.get(key);
  if (!model) {
    model = buildClusterModel(snapshot, poolLabel);
    byLabel.set(key, model);
  }
  return model;
}

const STATIC_COMPONENTS: SkewComponent[] = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

export function buildClusterModel(snapshot: ClusterSnapshot, poolLabel?: string): ClusterModel {
  const podsByNode = new Map<string, Pod[]>();
  for (const pod of snapshot.pods) {
    const nodeName = pod.spec.nodeName;
    if (!nodeName) continue;
    let list = podsByNode.get(nodeName);
    if (!list) {
      list = [];
      podsByNode.set(nodeName, list);
    }
    list.push(pod);
  }

  const nodes: NodeModel[] = [...snapshot.nodes]
    .sort((a, b) => compareNames(a.metadata.name, b.metadata.name))
    .map((node) => ({
      node,
      name: node.metadata.name,
      pool: poolOfNode(node, poolLabel),
      controlPlane: isControlPlaneNode(node),
      ready: isNodeReady(node),
      cordoned: node.spec?.unschedulable === true,
      kubelet: tryParseVersion(node.status?.nodeInfo?.kubeletVersion),
      pods: podsByNode.get(node.metadata.name) ?? [],
    }));
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const pools = new Map<string, NodeModel[]>();
  for (const n of nodes) {
    let list = pools.get(n.pool);
    if (!list) {
      list = [];
      pools.set(n.pool, list);
    }
    list.push(n);
  }
  const sortedPools = new Map([...pools.entries()].sort(([a], [b]) => a.localeCompare(b)));

  const workloads = new Map<string, Workload>();
  for (const w of snapshot.workloads)
    workloads.set(`${w.kind}/${w.metadata.namespace}/${w.metadata.name}`, w);
  const workload = (kind: string, namespace: string, name: string) =>
    workloads.get(`${kind}/${namespace}/${name}`);

  const ownerOf = (pod: Pod): PodOwner | undefined => {
    const ref = controllerRefOf(pod);
    if (!ref) return undefined;
    const namespace = pod.metadata.namespace ?? 'default';
    if (ref.kind === 'ReplicaSet') {
      const rs = workload('ReplicaSet', namespace, ref.name);
      const parent = rs && controllerRefOf(rs);
      if (parent) return { kind: parent.kind, namespace, name: parent.name };
    }
    return { kind: ref.kind, namespace, name: ref.name };
  };

  const budgetIndex = new BudgetIndex(snapshot.pdbs);
  const budgetsOfPod = new Map<Pod, PodDisruptionBudget[]>();
  const budgetsOf = (pod: Pod) => {
    let budgets = budgetsOfPod.get(pod);
    if (!budgets) {
      budgets = budgetIndex.matching(pod.metadata.namespace ?? 'default', pod.metadata.labels);
      budgetsOfPod.set(pod, budgets);
    }
    return budgets;
  };
  let podsByBudget: Map<PodDisruptionBudget, Pod[]> | undefined;
  const podsOfBudget = (pdb: PodDisruptionBudget) => {
    if (!podsByBudget) {
      podsByBudget = new Map(snapshot.pdbs.map((p) => [p, []]));
      for (const pod of snapshot.pods) for (const b of budgetsOf(pod)) podsByBudget.get(b)!.push(pod);
    }
    return podsByBudget.get(pdb) ?? [];
  };

  const controlPlane: ControlPlaneMember[] = nodes
    .filter((n) => n.controlPlane)
    .map((n) => {
      const member: ControlPlaneMember = { node: n.name, components: {} };
      for (const pod of n.pods) {
        if (pod.metadata.namespace !== 'kube-system') continue;
        const image = pod.spec.containers[0]?.image;
        for (const component of STATIC_COMPONENTS) {
          if (pod.metadata.name === `${component}-${n.name}`) {
            const version = versionFromImage(image);
            if (version) member.components[component] = version;
          }
        }
        if (pod.metadata.name === `etcd-${n.name}` && image) {
          const tag = image.slice(image.lastIndexOf(':') + 1);
          member.etcd = tag;
        }
      }
      return member;
    });

  const serverVersion = tryParseVersion(snapshot.server.gitVersion);
  const staticApiservers = controlPlane.flatMap((m) => m.components['kube-apiserver'] ?? []);
  const apiserverVersions =
    staticApiservers.length > 0 ? staticApiservers : serverVersion ? [serverVersion] : [];

  return {
    snapshot,
    serverVersion,
    nodes,
    nodeByName,
    pools: sortedPools,
    controlPlane,
    apiserverVersions,
    ownerOf,
    workload,
    budgetsOf,
    budgetsMatching: (namespace, labels) => budgetIndex.matching(namespace, labels),
    podsOfBudget,
  };
}

/**
 * Finds the budgets selecting a set of labels without testing every budget of the namespace: budgets are
 * indexed by one of their matchLabels pairs; only budgets without matchLabels are tested one by one.
 */
class BudgetIndex {
  private readonly byPair = new Map<
    string,
    Array<{ pdb: PodDisruptionBudget; requirements: Requirement[] }>
  >();
  private readonly unindexed = new Map<
    string,
    Array<{ pdb: PodDisruptionBudget; requirements: Requirement[] }>
  >();

  constructor(pdbs: readonly PodDisruptionBudget[]) {
    for (const pdb of pdbs) {
      const ns = pdb.metadata.namespace ?? 'default';
      let requirements: Requirement[];
      try {
        if (!pdb.spec.selector) continue;
        requirements = requirementsOf(pdb.spec.selector);
      } catch {
        continue; // An invalid selector matches nothing, as the eviction API skips it.
      }
      const first = Object.entries(pdb.spec.selector.matchLabels ?? {})[0];
      const key = first ? `${ns}\u0000${first[0]}\u0000${first[1]}` : ns;
      const map = first ? this.byPair : this.unindexed;
      let list = map.get(key);
      if (!list) {
        list = [];
        map.set(key, list);
      }
      list.push({ pdb, requirements });
    }
  }

  matching(namespace: string, labels: Record<string, string> | undefined): PodDisruptionBudget[] {
    const found: PodDisruptionBudget[] = [];
    for (const entry of this.unindexed.get(namespace) ?? []) {
      if (matchesRequirements(entry.requirements, labels)) found.push(entry.pdb);
    }
    for (const [k, v] of Object.entries(labels ?? {})) {
      for (const entry of this.byPair.get(`${namespace}\u0000${k}\u0000${v}`) ?? []) {
        if (matchesRequirements(entry.requirements, labels)) found.push(entry.pdb);
      }
    }
    return found;
  }
}

/** Natural order, so node-2 sorts before node-10 in plans people read. */
export function compareNames(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
}

/** The version the upgrade starts from: the oldest apiserver (a half-finished upgrade is not finished). */
export function sourceVersionOf(model: ClusterModel): KubeVersion | undefined {
  let oldest: KubeVersion | undefined;
  for (const v of model.apiserverVersions) if (!oldest || compareVersions(v, oldest) < 0) oldest = v;
  return oldest;
}

/**
 * Pool membership when a policy lists pools with selectors: the first listed pool whose selector matches a
 * worker node claims it; other nodes keep their label-derived pool. Control-plane nodes are never reassigned.
 */
export function resolvePools(
  model: ClusterModel,
  pools: ReadonlyArray<{ name: string; selector?: string }> | undefined,
): Map<string, NodeModel[]> {
  const withSelectors = (pools ?? []).filter((p) => p.selector);
  if (withSelectors.length === 0) return model.pools;
  const parsed = withSelectors.map((p) => ({ name: p.name, requirements: parseLabelSelector(p.selector!) }));
  const result = new Map<string, NodeModel[]>();
  for (const n of model.nodes) {
    const claimed = n.controlPlane
      ? undefined
      : parsed.find((p) => matchesRequirements(p.requirements, n.node.metadata.labels));
    const pool = claimed?.name ?? n.pool;
    let list = result.get(pool);
    if (!list) {
      list = [];
      result.set(pool, list);
    }
    list.push(n);
  }
  return new Map([...result.entries()].sort(([a], [b]) => a.localeCompare(b)));
}
