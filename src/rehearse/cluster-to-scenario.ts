/**
 * clusterToScenario: the sandbox scenario that stands for a real cluster, from the snapshot `plan` reads.
 * Same nodes (names, labels, taints, capacity and allocatable, kubelet versions, cordons), the same pods on
 * the same nodes under the same kind of controller with the same scale, requests, node selectors,
 * tolerations and grace periods, and the same disruption budgets (name, rule, and the pods they select).
 *
 * What the simulation does not need is left out, and said so in `notes`: pod affinity, priority classes,
 * Services and traffic, Secrets and ConfigMaps (never read), Helm releases, pods' real names (a Deployment's
 * pods are renamed by the sandbox's ReplicaSet, a StatefulSet's keep theirs).
 *
 * Note: the sandbox's workloads label their pods `app: <workload name>`, so a budget is copied with a
 * selector over the workloads whose pods it selects in the real cluster, not with its own selector: a real
 * selector names labels the copies do not carry.
 */
import {
  type ClusterSnapshot,
  CONTROL_PLANE_POOL,
  clusterModelOf,
  formatVersion,
  hasEmptyDir,
  isMirrorPod,
  type Node,
  type Pod,
  type PodDisruptionBudget,
  podRequests,
  poolOfNode,
  type Taint,
  tryParseVersion,
  type Workload,
} from '../core/index.ts';
import { DEFAULT_TIMING, type SimTiming } from '../sandbox/context.ts';
import { emptyFaultsSpec, type Scenario, type WorkloadSpec } from '../sandbox/scenario/index.ts';
import type { NamedNodeSpec, NodePoolSpec } from '../sandbox/scenario/scenario-types.ts';

export interface ClusterToScenarioOptions {
  /** The simulated durations (default the sandbox's own). */
  timing?: Partial<SimTiming>;
  /** Seeds the sandbox's randomness (default 1). */
  seed?: number;
  /** The policy's `poolLabel`: pools are named as the plan names them, so a replacement finds its pool's template. */
  poolLabel?: string;
}

export interface CopiedCluster {
  scenario: Scenario;
  /** What the copy leaves out or approximates, one sentence each, for the report. */
  notes: string[];
  /** The copy's workload name of each real controller, "Kind namespace/name" → sandbox workload name. */
  workloadNames: Map<string, string>;
}

const FALLBACK_IMAGE = 'registry.k8s.io/pause:3.10';
const COPIED_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

/** One controller of the real cluster and its live pods, before it becomes a WorkloadSpec. */
interface Controller {
  kind: string;
  namespace: string;
  name: string;
  workload?: Workload;
  pods: Pod[];
}

export function clusterToScenario(
  snapshot: ClusterSnapshot,
  options: ClusterToScenarioOptions = {},
): CopiedCluster {
  const model = clusterModelOf(snapshot);
  const notes: string[] = [];
  const version = tryParseVersion(snapshot.server.gitVersion);
  if (!version) throw new Error(`cannot copy a cluster whose /version is ${snapshot.server.gitVersion}`);
  const kubernetesVersion = formatVersion(version);

  const controllers = controllersOf(snapshot, model.ownerOf);
  const workloads: WorkloadSpec[] = [];
  const workloadNames = new Map<string, string>();
  const used = new Set<string>();
  let affinityDropped = 0;
  let foreignOwners = 0;
  for (const c of controllers.values()) {
    const spec = workloadSpecOf(c);
    if (!spec) continue;
    if (c.workload === undefined && c.kind !== 'Pod') foreignOwners++;
    if (templateOf(c)?.affinity) affinityDropped++;
    // Note: one `app` label value per namespace, so that a copied budget selects exactly its workloads.
    let name = spec.name;
    if (used.has(`${spec.namespace}/${name}`)) name = `${name}-${c.kind.toLowerCase()}`;
    used.add(`${spec.namespace}/${name}`);
    workloads.push({ ...spec, name });
    workloadNames.set(controllerKey(c), name);
  }

  const objects = snapshot.pdbs.map((pdb) =>
    copiedBudget(pdb, model.podsOfBudget(pdb), model.ownerOf, workloadNames),
  );

  if (affinityDropped > 0)
    notes.push(
      `${affinityDropped} workload(s) use affinity rules; the copy places pods by node selector and taints only`,
    );
  if (foreignOwners > 0)
    notes.push(
      `${foreignOwners} controller(s) of a kind the sandbox does not run (an operator's) are copied as Deployments of their pods`,
    );
  const priorityClasses = new Set(snapshot.pods.flatMap((p) => p.spec.priorityClassName ?? []));
  if (priorityClasses.size > 0)
    notes.push(`priority classes (${priorityClasses.size}) are not simulated: no pod is preempted`);

  const scenario: Scenario = {
    // Note: the name labels every copied workload (a label value: no URL).
    name: 'rehearsal',
    description: `a copy of ${snapshot.server.url} taken at ${snapshot.takenAt}`,
    kubernetesVersion,
    controlPlane: {
      nodes: 0,
      capacity: { cpu: '4', memory: '16Gi', pods: '110' },
      kubeletVersion: kubernetesVersion,
      osImage: '',
      containerRuntime: '',
      kernel: '',
    },
    // Note: empty pools (count 0) whose templates let a surge or blue-green rehearsal create nodes like the pool's.
    nodePools: poolTemplatesOf(snapshot.nodes, options.poolLabel),
    nodes: snapshot.nodes.map(namedNodeOf),
    addons: false,
    workloads,
    timing: { ...DEFAULT_TIMING, ...options.timing },
    faults: emptyFaultsSpec(),
    helmReleases: [],
    objects,
    prebindPods: true,
    allowKubeletMinorSkip: false,
    seed: options.seed ?? 1,
    source: `cluster:${snapshot.server.url}`,
  };
  return { scenario, notes, workloadNames };
}

/** "Kind namespace/name" of a controller, as CopiedCluster.workloadNames keys it. */
export function controllerKey(c: { kind: string; namespace: string; name: string }): string {
  return `${c.kind} ${c.namespace}/${c.name}`;
}

/**
 * Every controller with its live pods: the snapshot's Deployments, StatefulSets, DaemonSets and Jobs, a
 * ReplicaSet no Deployment owns (copied as a Deployment), any other owner of pods, and each bare pod.
 * Mirror pods are left out: the sandbox's control plane makes its own.
 */
function controllersOf(
  snapshot: ClusterSnapshot,
  ownerOf: (pod: Pod) => { kind: string; namespace: string; name: string } | undefined,
): Map<string, Controller> {
  const controllers = new Map<string, Controller>();
  for (const w of snapshot.workloads) {
    if (w.kind === 'ReplicaSet' && w.metadata.ownerReferences?.some((o) => o.controller)) continue;
    const c = { kind: w.kind, namespace: w.metadata.namespace ?? 'default', name: w.metadata.name };
    controllers.set(controllerKey(c), { ...c, workload: w, pods: [] });
  }
  for (const pod of snapshot.pods) {
    if (isMirrorPod(pod) || !isLive(pod)) continue;
    const namespace = pod.metadata.namespace ?? 'default';
    const owner = ownerOf(pod) ?? { kind: 'Pod', namespace, name: pod.metadata.name };
    const key = controllerKey(owner);
    let c = controllers.get(key);
    if (!c) {
      c = { ...owner, pods: [] };
      controllers.set(key, c);
    }
    c.pods.push(pod);
  }
  return controllers;
}

function isLive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

function templateOf(c: Controller): Pod['spec'] | undefined {
  return c.workload?.spec?.template?.spec ?? c.pods[0]?.spec;
}

/** The scenario workload of one controller; undefined for one with nothing to simulate (a finished Job). */
function workloadSpecOf(c: Controller): WorkloadSpec | undefined {
  const template = templateOf(c);
  if (!template?.containers?.length) return undefined;
  const kind: WorkloadSpec['kind'] =
    c.kind === 'Pod'
      ? 'Pod'
      : c.kind === 'ReplicaSet' || !COPIED_KINDS.has(c.kind)
        ? 'Deployment'
        : (c.kind as WorkloadSpec['kind']);
  if (kind === 'Job' && c.pods.length === 0) return undefined;
  const requests = podRequests({ metadata: { name: c.name }, spec: template });
  const replicas =
    kind === 'Pod' || kind === 'Job' || c.workload === undefined
      ? c.pods.length
      : kind === 'DaemonSet'
        ? 1
        : (c.workload.spec?.replicas ?? 1);
  if (replicas === 0 && kind !== 'DaemonSet' && c.workload === undefined) return undefined;
  return {
    name: c.name,
    namespace: c.namespace,
    kind,
    replicas,
    image: template.containers[0]?.image ?? FALLBACK_IMAGE,
    containerName: template.containers[0]?.name,
    requests: { cpu: `${requests.cpuMillis}m`, memory: String(requests.memoryBytes) },
    ...(template.nodeSelector ? { nodeSelector: { ...template.nodeSelector } } : {}),
    ...(template.tolerations ? { tolerations: template.tolerations.map((t) => ({ ...t })) } : {}),
    localStorage: hasEmptyDir({ metadata: { name: c.name }, spec: template }),
    ...(template.terminationGracePeriodSeconds !== undefined
      ? { terminationGracePeriodSeconds: template.terminationGracePeriodSeconds }
      : {}),
    labels: {},
    placement: kind === 'DaemonSet' || kind === 'Job' ? undefined : placementOf(c, replicas),
  };
}

/**
 * The node of each replica, in the order the sandbox creates them: a StatefulSet's by ordinal, others'
 * by pod name; a replica with no pod yet (or not scheduled) is "" (Pending, for the sandbox's scheduler).
 */
function placementOf(c: Controller, replicas: number): string[] {
  const placement = new Array<string>(replicas).fill('');
  if (c.kind === 'StatefulSet') {
    for (const pod of c.pods) {
      const ordinal = Number(pod.metadata.name.slice(c.name.length + 1));
      if (Number.isInteger(ordinal) && ordinal < replicas) placement[ordinal] = pod.spec.nodeName ?? '';
    }
    return placement;
  }
  const pods = [...c.pods].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (let i = 0; i < Math.min(replicas, pods.length); i++) placement[i] = pods[i]!.spec.nodeName ?? '';
  return placement;
}

function namedNodeOf(node: Node): NamedNodeSpec {
  const capacity = node.status?.capacity ?? {};
  const allocatable = node.status?.allocatable ?? capacity;
  const info = node.status?.nodeInfo ?? {};
  return {
    name: node.metadata.name,
    kubeletVersion: info.kubeletVersion ?? 'v0.0.0',
    capacity: { cpu: capacity.cpu ?? '0', memory: capacity.memory ?? '0', pods: capacity.pods ?? '110' },
    allocatable: { cpu: allocatable.cpu ?? '0', memory: allocatable.memory ?? '0' },
    labels: { ...node.metadata.labels },
    taints: (node.spec?.taints ?? []).map((t): Taint => ({ ...t })),
    unschedulable: node.spec?.unschedulable === true,
    osImage: info.osImage ?? '',
    containerRuntime: info.containerRuntimeVersion ?? '',
    kernel: info.kernelVersion ?? '',
  };
}

const ZONE_LABEL = 'topology.kubernetes.io/zone';
/** Labels that name one node, not its pool: a new node gets its own. */
const PER_NODE_LABELS = new Set([
  'kubernetes.io/hostname',
  ZONE_LABEL,
  'failure-domain.beta.kubernetes.io/zone',
]);

/**
 * One template per worker pool, with no node of its own (count 0): what the sandbox's provisioner creates a
 * pool's new node from, as a cloud's node group template does. The labels and taints every node of the pool
 * shares, the first node's capacity, image and version, the pool's zones in turn.
 */
export function poolTemplatesOf(nodes: readonly Node[], poolLabel: string | undefined): NodePoolSpec[] {
  const byPool = new Map<string, Node[]>();
  for (const node of nodes) {
    const pool = poolOfNode(node, poolLabel);
    if (pool === CONTROL_PLANE_POOL) continue;
    const members = byPool.get(pool);
    if (members) members.push(node);
    else byPool.set(pool, [node]);
  }
  return [...byPool.entries()].map(([name, members]) => {
    const first = namedNodeOf(members[0]!);
    const labels = Object.fromEntries(
      Object.entries(first.labels).filter(
        ([k, v]) => !PER_NODE_LABELS.has(k) && members.every((n) => n.metadata.labels?.[k] === v),
      ),
    );
    const taintKey = (t: Taint) => `${t.key}=${t.value ?? ''}:${t.effect}`;
    const taints = first.taints.filter(
      // Note: node.kubernetes.io/* taints are the node's condition (unschedulable, not-ready), not the pool's.
      (t) =>
        !t.key.startsWith('node.kubernetes.io/') &&
        members.every((n) => (n.spec?.taints ?? []).some((o) => taintKey(o as Taint) === taintKey(t))),
    );
    const zones = [...new Set(members.flatMap((n) => n.metadata.labels?.[ZONE_LABEL] ?? []))].sort();
    return {
      name,
      count: 0,
      version: first.kubeletVersion,
      capacity: first.capacity,
      labels,
      taints,
      instanceType: first.labels['node.kubernetes.io/instance-type'] ?? 'copied',
      zones,
      osImage: first.osImage,
      containerRuntime: first.containerRuntime,
      kernel: first.kernel,
    };
  });
}

/** A label no copied pod carries: a budget selecting no pod in the real cluster selects none in the copy. */
const SELECTS_NOTHING = { matchLabels: { 'midflight.dev/rehearsal': 'selects-nothing' } };

/** The budget with its own name and rule, selecting the copies of the workloads whose pods it selects. */
function copiedBudget(
  pdb: PodDisruptionBudget,
  pods: Pod[],
  ownerOf: (pod: Pod) => { kind: string; namespace: string; name: string } | undefined,
  workloadNames: Map<string, string>,
): CopiedCluster['scenario']['objects'][number] {
  const namespace = pdb.metadata.namespace ?? 'default';
  const names = new Set<string>();
  for (const pod of pods) {
    if (isMirrorPod(pod) || !isLive(pod)) continue;
    const owner = ownerOf(pod) ?? { kind: 'Pod', namespace, name: pod.metadata.name };
    const name = workloadNames.get(controllerKey(owner));
    if (name) names.add(name);
  }
  const { minAvailable, maxUnavailable, unhealthyPodEvictionPolicy } = pdb.spec;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: pdb.metadata.name, namespace },
    spec: {
      selector:
        names.size > 0
          ? { matchExpressions: [{ key: 'app', operator: 'In', values: [...names].sort() }] }
          : SELECTS_NOTHING,
      ...(minAvailable !== undefined ? { minAvailable } : {}),
      ...(maxUnavailable !== undefined ? { maxUnavailable } : {}),
      ...(unhealthyPodEvictionPolicy ? { unhealthyPodEvictionPolicy } : {}),
    },
  };
}
