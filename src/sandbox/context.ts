import type { Registry } from 'prom-client';
import type { Clock } from '../core/index.ts';
import type { TimingSpread } from './sim/timing-spread.ts';
import type { ObjectStore } from './store/object-store.ts';
import type { KubeObject } from './store/types.ts';

/**
 * What every part of the sandbox shares: the clock, the object store, the timing and faults of the scenario,
 * the metrics registry and the record of disruption-budget violations. Built once by `Sandbox` and passed to
 * the API server and to each simulated actor.
 */
export interface SandboxContext {
  clock: Clock;
  store: ObjectStore;
  timing: SimTiming;
  faults: FaultSet;
  metrics: Registry;
  violations: ViolationRecord[];
  /** Seeded randomness, so a scenario replays the same way. */
  random(): number;
  /**
   * Writes a core/v1 Event about `involved`, as a component named `source` would; repeats are aggregated
   * by count and Events expire an hour after their last update (see sim/event-recorder.ts).
   */
  recordEvent(
    involved: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    source: string,
    details?: EventDetails,
  ): void;
}

/** What some components add to their Events. */
export interface EventDetails {
  /** The node the reporting component runs on (kubelet): `source.host` and `reportingInstance`. */
  host?: string;
  /** The part of the object the Event is about: `spec.containers{name}` for a container. */
  fieldPath?: string;
  /**
   * The involved object's uid when the reporter does not know the real one: the kubelet refers to its
   * Node by name as uid, which is why `kubectl describe node` also searches Events by uid = name.
   */
  involvedUid?: string;
}

/** Simulated durations, in milliseconds of clock time. Scenario `timing` fields override the defaults. */
export interface SimTiming {
  /** Between a kubelet's status heartbeats (and lease renewals). */
  nodeHeartbeatMs: number;
  /** How long without a heartbeat before the node lifecycle controller marks a node Unknown. */
  nodeMonitorGraceMs: number;
  /** From a pod's images being on its node to its containers running. */
  podStartMs: number;
  /** A typical image pull (each image takes from half to one and a half times this, fixed per image). */
  imagePullMs: number;
  /** From running to Ready (a readiness probe's first success). */
  podReadyMs: number;
  /** How long a pod that honours SIGTERM takes to exit after deletion starts. */
  podStopMs: number;
  /** A node's kubelet restart during an upgrade: NotReady for this long, then back at the new version. */
  nodeUpgradeMs: number;
  /** A control-plane member's static pods restarting at a new version. */
  controlPlaneUpgradeMs: number;
  /** A new machine (`/sandbox/v1/pools/POOL/nodes`) booting until its kubelet registers the Node. */
  nodeBootMs: number;
  /** How often the synthetic traffic generator samples the services. */
  trafficTickMs: number;
  /**
   * Pods' start, readiness and stop and workers' upgrade reboots vary around the values above by up to
   * ±ratio, fixed per node and per workload on a node (sim/timing-spread.ts); none when left out.
   */
  spread?: TimingSpread;
}

export const DEFAULT_TIMING: SimTiming = {
  nodeHeartbeatMs: 10_000,
  nodeMonitorGraceMs: 40_000,
  podStartMs: 2_000,
  imagePullMs: 3_000,
  podReadyMs: 3_000,
  podStopMs: 1_000,
  nodeUpgradeMs: 30_000,
  controlPlaneUpgradeMs: 20_000,
  nodeBootMs: 45_000,
  trafficTickMs: 5_000,
};

/** Faults in force; the scenario seeds them and `/sandbox/v1/faults` changes them at run time. */
export interface FaultSet {
  /** Nodes (by name) that never come back Ready after an upgrade. */
  nodesNeverReadyAfterUpgrade: Set<string>;
  /** Upgrade attempts that fail, per node name (decremented as they fail); "*" applies to every node. */
  upgradeFailures: Map<string, number>;
  /** API errors injected into requests from clients (never into the simulation's own work). */
  api: {
    errorRate: number;
    errorCode: 500 | 429 | 503;
    latencyMs: number;
    verbs?: string[];
    resources?: string[];
  };
  /** Pods (matched by label selector string) that ignore SIGTERM and exit only when their grace period ends. */
  ignoreSigtermSelectors: string[];
  /** Services on nodes whose kubelet runs this version serve worse: extra error ratio and latency. */
  versionRegressions: Array<{ kubeletVersion: string; errorRatio: number; extraLatencyMs: number }>;
  /** Control-plane nodes whose etcd member fails its health check (its mirror pod turns NotReady). */
  etcdUnhealthy: Set<string>;
  /** Mean backend commit latency (ms) of an etcd member on a slow disk, by node name; "*" for every member. */
  etcdSlowDisk: Map<string, number>;
  /** Storage classes whose volume attach operations fail; "*" for every class. */
  csiAttachFailures: Set<string>;
  /** Node creates that fail, per pool name (decremented as they fail); "*" applies to every pool. */
  nodeCreateFailures: Map<string, number>;
  /** New machines that boot but never register their Node, per pool name (decremented); "*": every pool. */
  nodesNeverJoin: Map<string, number>;
  /** The most nodes (registered or booting) a pool may hold; a create past it is refused. */
  poolQuota: Map<string, number>;
}

export function emptyFaults(): FaultSet {
  return {
    nodesNeverReadyAfterUpgrade: new Set(),
    upgradeFailures: new Map(),
    api: { errorRate: 0, errorCode: 500, latencyMs: 0 },
    ignoreSigtermSelectors: [],
    versionRegressions: [],
    etcdUnhealthy: new Set(),
    etcdSlowDisk: new Map(),
    csiAttachFailures: new Set(),
    nodeCreateFailures: new Map(),
    nodesNeverJoin: new Map(),
    poolQuota: new Map(),
  };
}

/** One moment a budget's healthy count fell below its desired count because of a voluntary disruption. */
export interface ViolationRecord {
  time: string;
  namespace: string;
  pdb: string;
  pod: string;
  cause: 'eviction' | 'delete';
  healthyAfter: number;
  desiredHealthy: number;
}

/** Something the sandbox runs alongside the API server: a kubelet fleet, a controller, the traffic model. */
export interface Actor {
  readonly name: string;
  start(): void;
  stop(): void;
}
