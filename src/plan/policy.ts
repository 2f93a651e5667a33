/**
 * The upgrade policy: how to order, pace, drain and gate an upgrade. Its types and defaults; reading a
 * file is policy-parse.ts, checking the data is policy-validate.ts.
 *
 * Defaults are a careful platform engineer's: one node at a time, no surge, a one-node canary soaked for
 * 10 minutes, eviction (never plain delete), emptyDir data and bare pods protected, halt on a stuck drain.
 */
import type { Exclusion, IntOrString, MaintenanceWindow } from '../core/index.ts';
import type { GateSpec, PrometheusSettings } from '../gates/gate-types.ts';
import type { AlertsPolicy } from '../observe/observe-policy.ts';
import type { EtcdPolicy } from './etcd-policy.ts';

export type { Exclusion, MaintenanceWindow };

export const POLICY_API_VERSION = 'midflight.dev/v1alpha1';
/**
 * in-place: drain, upgrade, return the node. replace: the same steps, with a provider that reimages the node
 * under its name (maxSurge counts in the plan). surge: new nodes at the target are created first (up to
 * maxSurge), then old nodes are drained and deleted (engine/surge-node.ts, through `nodeProvider`).
 * blue-green: the whole new (green) pool first, every old (blue) node cordoned, drained wave by wave, held
 * through `finalSoak`, then deleted (engine/blue-green.ts).
 */
export const NODE_STRATEGIES = ['in-place', 'replace', 'surge', 'blue-green'] as const;
export type NodeStrategy = (typeof NODE_STRATEGIES)[number];

export const ON_DRAIN_TIMEOUT = ['halt', 'skip', 'quarantine'] as const;
/** drain.maxQuarantined when the policy does not say: one node per pool. */
export const DEFAULT_MAX_QUARANTINED = 1;
export type OnDrainTimeout = (typeof ON_DRAIN_TIMEOUT)[number];

export interface PoolPolicy {
  name: string;
  /** Label selector (string form) claiming nodes for this pool; without it the pool label decides. */
  selector?: string;
  maxUnavailable?: IntOrString;
  maxSurge?: IntOrString;
  strategy?: NodeStrategy;
  /** How many of the pool's nodes make one wave: a count or a percent of the pool (default: defaults.waveSize). */
  waveSize?: IntOrString;
  /** Wait after each wave of this pool, once its gate passed, e.g. "2m". */
  waveSoak?: string;
  /** strategy blue-green: how long the drained blue pool is held, gates watching, before it is deleted. */
  finalSoak?: string;
}

/** See Policy.poolConcurrency. */
export interface PoolConcurrency {
  /** Nodes out of service at once across every pool flowing together (and the whole run). */
  maxInFlight: number;
  /** How many consecutive pools flow together; unset: all of a version's pools after the canary. */
  pools?: number;
}

/** What a run does when no maintenance window is open (see engine/maintenance-window.ts). */
export const ON_OUTSIDE_WINDOW = ['wait', 'pause'] as const;
export type OnOutsideWindow = (typeof ON_OUTSIDE_WINDOW)[number];

export interface Policy {
  apiVersion: typeof POLICY_API_VERSION;
  kind: 'UpgradePolicy';
  /** The node label naming pools, tried before the well-known ones (node.kubernetes.io/pool, …). */
  poolLabel?: string;
  /** Listed pools go first, in this order; other pools follow in name order with `defaults`. */
  pools: PoolPolicy[];
  /**
   * maxUnavailable (and maxSurge): how many of a pool's nodes may be in flight at once. Nodes flow: the moment
   * one finishes, the next is admitted. waveSize: the nodes between two gates (and soaks); "100%" is one wave.
   */
  defaults: {
    maxUnavailable: IntOrString;
    maxSurge: IntOrString;
    strategy: NodeStrategy;
    waveSize: IntOrString;
  };
  /**
   * Pools flowing side by side (as Cluster API's topology.cluster.x-k8s.io/upgrade-concurrency lets
   * MachineDeployments upgrade together): after the canary, up to `pools` consecutive node pools (all of
   * them when unset) flow at once, each within its own maxUnavailable and capacity, and never more than
   * `maxInFlight` nodes out of service across the run. Unset (the default): pools go one after another. Left
   * out of the defaults, so existing plans keep their id.
   */
  poolConcurrency?: PoolConcurrency;
  canary: {
    /** How many nodes go first (0 disables the canary). Ignored when `pool` is set. */
    nodes: number;
    /** A whole pool to use as the canary instead. */
    pool?: string;
    soak: string;
  };
  drain: {
    timeout: string;
    /** -1 keeps each pod's terminationGracePeriodSeconds. */
    gracePeriodSeconds: number;
    deleteEmptyDirData: boolean;
    /** Delete pods no controller manages (they are lost). */
    force: boolean;
    onTimeout: OnDrainTimeout;
    /**
     * With onTimeout quarantine: how many nodes of one pool may be quarantined; one more stuck drain halts
     * the run. Unset means DEFAULT_MAX_QUARANTINED (left out of the defaults so existing plans keep their id).
     */
    maxQuarantined?: number;
    /** Cordon and drain control-plane nodes before upgrading them, as kubeadm's runbook does. */
    controlPlane: boolean;
    /**
     * Worker nodes the run will still drain carry a PreferNoSchedule taint (engine/pending-upgrade-taint.ts),
     * so pods evicted by a drain prefer nodes already upgraded and move once. Unset means true (left out of
     * the defaults so existing plans keep their id); false turns it off.
     */
    preferUpgradedNodes?: boolean;
  };
  /** Estimates used for the plan's durations. */
  timings: {
    preflight: string;
    etcdBackup: string;
    controlPlaneMember: string;
    nodeDrain: string;
    nodeUpgrade: string;
    /** How long an evicted pod's replacement takes to be Ready: a budget frees no faster than this. */
    podStartup: string;
    waveSoak: string;
    addons: string;
    validation: string;
  };
  /** When node work may start; none means any time. */
  maintenanceWindows: MaintenanceWindow[];
  /**
   * Outside every window: wait for the next one (default) or pause the run. Unset means wait (left out of
   * the defaults, as are exclusions, so existing plans keep their id).
   */
  onOutsideWindow?: OnOutsideWindow;
  /** Freeze periods: `apply` refuses to start inside one, and a running run pauses when one begins. */
  exclusions?: Exclusion[];
  etcdBackup: EtcdBackupPolicy;
  /**
   * An external etcd cluster the plan rolls member by member (etcd-policy.ts). Left out of the defaults when
   * unset, so existing plans keep their id.
   */
  etcd?: EtcdPolicy;
  provider: { kind: string; [setting: string]: unknown };
  /**
   * How nodes are created and deleted (providers/node-provider-from-policy.ts), for pools with strategy
   * surge. Absent unless set, so plans without it keep their id.
   */
  nodeProvider?: { kind: string; [setting: string]: unknown };
  hooks: Record<string, unknown>;
  /** Health gates on measurements (docs/gates.md); empty: the kube-native gate after each wave only. */
  gates: GateSpec[];
  /** Where prometheus gates send their queries; absent unless set, so plans without it keep their id. */
  prometheus?: PrometheusSettings;
  /**
   * Alertmanager silences around each node's upgrade and the run's notifications (observe/observe-policy.ts).
   * Left out of the defaults when unset, so existing plans keep their id.
   */
  alerts?: AlertsPolicy;
  preflight: { skip: string[]; certificateWarningDays: number; crashLoopRestarts: number };
}

/**
 * The etcd-backup phase (docs/backup.md). Every field but `enabled` is left out of the defaults when
 * unset, so existing plans keep their id.
 */
export interface EtcdBackupPolicy {
  enabled: boolean;
  /** etcd client URLs; unset: found at run time the kubeadm way (the etcd static pods' client URLs). */
  endpoints?: string[];
  /** TLS files; unset with found endpoints: kubeadm's /etc/kubernetes/pki/etcd/{ca,healthcheck-client}. */
  cacert?: string;
  cert?: string;
  key?: string;
  /** Where snapshots go; default ~/.midflight/etcd-backups. */
  dir?: string;
  /** After save and verify, restore the snapshot into a scratch etcd before the control plane moves. */
  drill?: boolean;
  /**
   * Preflight says blocker, not warning, when the run cannot take a backup (a managed control plane with
   * no hooks.backup), or, with maxAge, when the newest snapshot in `dir` is missing, stale or unverified.
   */
  required?: boolean;
  /** How old the newest verified snapshot in `dir` may be when the run starts (e.g. 24h). */
  maxAge?: string;
}

export function defaultPolicy(): Policy {
  return {
    apiVersion: POLICY_API_VERSION,
    kind: 'UpgradePolicy',
    pools: [],
    defaults: { maxUnavailable: 1, maxSurge: 0, strategy: 'in-place', waveSize: '100%' },
    canary: { nodes: 1, soak: '10m' },
    drain: {
      timeout: '15m',
      gracePeriodSeconds: -1,
      deleteEmptyDirData: false,
      force: false,
      onTimeout: 'halt',
      controlPlane: true,
    },
    timings: {
      preflight: '1m',
      etcdBackup: '3m',
      controlPlaneMember: '8m',
      nodeDrain: '3m',
      nodeUpgrade: '5m',
      podStartup: '30s',
      waveSoak: '1m',
      addons: '5m',
      validation: '5m',
    },
    maintenanceWindows: [],
    etcdBackup: { enabled: true },
    provider: { kind: 'job' },
    hooks: {},
    gates: [],
    preflight: { skip: [], certificateWarningDays: 30, crashLoopRestarts: 5 },
  };
}

/** One thing wrong in a policy: the field, and where in the file when it was read from one. */
export interface PolicyError {
  file: string;
  /** Dotted path, e.g. "pools[1].maxUnavailable"; "(file)" for a file that is not YAML. */
  field: string;
  message: string;
  /** 1-based, in the policy file; absent for a policy that came as data (the one inside a plan). */
  line?: number;
  column?: number;
}

/** `policy.yaml:7:5: drain.timeout: must be a duration …`, as editors and terminals link it. */
export function formatPolicyError(error: PolicyError): string {
  const at = error.line !== undefined ? `${error.file}:${error.line}:${error.column}` : error.file;
  return `${at}: ${error.field}: ${error.message}`;
}

export type PolicyResult = { ok: true; policy: Policy } | { ok: false; errors: PolicyError[] };
