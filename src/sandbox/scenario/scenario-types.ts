import type { Taint, Toleration } from '../../core/index.ts';
import type { SimTiming } from '../context.ts';
import type { KubeObject } from '../store/types.ts';

/**
 * A scenario after validation: every default filled in, every version and quantity checked.
 * `docs/scenarios.md` documents the YAML form field by field.
 */
export interface Scenario {
  name: string;
  description: string;
  /** The control plane's version, "v1.31.4". */
  kubernetesVersion: string;
  controlPlane: ControlPlaneSpec;
  nodePools: NodePoolSpec[];
  /**
   * Nodes by name, as a cluster copied by `midflight rehearse` has them (src/rehearse), created beside the
   * control plane's and the pools' nodes. Those labelled control-plane become control-plane members. Not
   * part of the YAML form.
   */
  nodes?: NamedNodeSpec[];
  /** Whether the kube-system add-ons (CoreDNS, kube-proxy, …) are created; a copied cluster brings its own. Default true. */
  addons?: boolean;
  workloads: WorkloadSpec[];
  /** Overrides of the simulated durations, already converted to milliseconds. */
  timing: Partial<SimTiming>;
  faults: FaultsSpec;
  helmReleases: HelmReleaseSpec[];
  /** Extra objects created as written. */
  objects: KubeObject[];
  /**
   * Create every workload's pods already bound, Running and Ready (with their ReplicaSets) instead of
   * letting the controllers, the scheduler and the kubelets start them: how big scenarios start fast.
   */
  prebindPods: boolean;
  /**
   * Whether a node's kubelet may move up more than one minor version in one upgrade. kubeadm moves one
   * minor at a time, so the sandbox refuses such a jump unless the scenario allows it.
   */
  allowKubeletMinorSkip: boolean;
  /** Seeds `ctx.random()`, so a scenario replays the same way. */
  seed: number;
  /** Where the scenario came from: a file path, or "builtin:<name>". */
  source: string;
}

export interface Capacity {
  cpu: string;
  memory: string;
  pods: string;
}

export type { Taint, Toleration } from '../../core/index.ts';

export interface NodeImageSpec {
  osImage: string;
  containerRuntime: string;
  kernel: string;
}

export interface ControlPlaneSpec extends NodeImageSpec {
  nodes: number;
  capacity: Capacity;
  /** The members' kubelet version; defaults to the cluster version. */
  kubeletVersion: string;
}

export interface NodePoolSpec extends NodeImageSpec {
  name: string;
  count: number;
  /** Kubelet version; defaults to the cluster version. */
  version: string;
  capacity: Capacity;
  labels: Record<string, string>;
  taints: Taint[];
  instanceType: string;
  /** Zones the pool's nodes are dealt over in turn; empty: the cluster's three zones, by node position. */
  zones: string[];
  /**
   * The Cluster API MachineDeployment that manages the pool (scenario `machineDeployment: NAME` or
   * `NAMESPACE/NAME`): created with a MachineSet and one Machine per node (sim/cluster-api-seed.ts).
   */
  machineDeployment?: { namespace: string; name: string };
}

/** One node of a copied cluster: its name, labels and taints as they are, and what it offers. */
export interface NamedNodeSpec extends NodeImageSpec {
  name: string;
  kubeletVersion: string;
  capacity: Capacity;
  allocatable: { cpu: string; memory: string };
  labels: Record<string, string>;
  taints: Taint[];
  /** Cordoned before the copy was made. */
  unschedulable: boolean;
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export interface WorkloadSpec {
  name: string;
  namespace: string;
  /** "Pod" for `unmanaged: true` workloads: bare pods without a controller. */
  kind: WorkloadKind | 'Pod';
  replicas: number;
  image: string;
  /** The container's name (default "app"); a copied add-on keeps its own, by which the planner finds it. */
  containerName?: string;
  requests: { cpu: string; memory: string };
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  pdb?: PdbSpec;
  traffic?: TrafficSpec;
  localStorage: boolean;
  /** Each pod gets a generic ephemeral volume `data` of this StorageClass (attached to its node). */
  storageClass?: string;
  terminationGracePeriodSeconds?: number;
  labels: Record<string, string>;
  /**
   * With `prebindPods`: the node of each replica, in order ("" for one left Pending), instead of first-fit;
   * how a copied cluster keeps its pods on the same nodes. Ignored for DaemonSets and Jobs.
   */
  placement?: string[];
}

export interface PdbSpec {
  minAvailable?: number | string;
  maxUnavailable?: number | string;
  unhealthyPodEvictionPolicy?: 'IfHealthyBudget' | 'AlwaysAllow';
}

export interface TrafficSpec {
  rps: number;
  latencyMs: number;
  errorRatio: number;
}

/** The `faults` section, with the same field names as `/sandbox/v1/faults`. */
export interface FaultsSpec {
  nodesNeverReady: string[];
  /** Control-plane nodes whose etcd member is unhealthy. */
  etcdUnhealthy: string[];
  upgradeFailures: Record<string, number>;
  api: {
    errorRate: number;
    code: 500 | 429 | 503;
    latencyMs: number;
    verbs?: string[];
    resources?: string[];
  };
  ignoreSigterm: string[];
  versionRegression: Array<{ kubeletVersion: string; errorRatio: number; extraLatencyMs: number }>;
  /** Mean backend commit latency (ms) of a member's slow disk, per control-plane node or "*". */
  etcdSlowDisk: Record<string, number>;
  /** Storage classes (or "*") whose volume attach operations fail. */
  csiAttachFailures: string[];
  /** Node creates that fail, per pool or "*". */
  nodeCreateFailures: Record<string, number>;
  /** New machines that never register, per pool or "*". */
  nodesNeverJoin: Record<string, number>;
  /** The most nodes a pool may hold. */
  poolQuota: Record<string, number>;
}

export interface HelmReleaseSpec {
  name: string;
  namespace: string;
  chart: string;
  version: string;
  appVersion?: string;
  /** The rendered manifest, as `helm get manifest` prints it. */
  manifest: string;
  /** The release revision (the Secret's `version` label). */
  revision: number;
}
