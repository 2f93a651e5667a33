/**
 * The Plan: plain JSON data that `plan` writes and `apply` executes. Everything `apply` needs to refuse a
 * plan for another cluster or an outdated one is in it (cluster fingerprint, source version, plan id).
 */

import type { LowerBound } from './lower-bound.ts';
import type { Policy } from './policy.ts';
import type { NodeReason } from './reasons.ts';

export const PLAN_SCHEMA_VERSION = 'midflight.dev/plan/v1';

export const PHASE_KINDS = [
  'preflight',
  'etcd-backup',
  'etcd',
  'control-plane',
  'canary',
  'node-pool',
  'addons',
  'validation',
] as const;
export type PhaseKind = (typeof PHASE_KINDS)[number];

export const STEP_KINDS = [
  'preflight',
  'etcd-backup',
  'etcd-member',
  'control-plane',
  'canary',
  'node-wave',
  'addons',
  'validation',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/**
 * Why a step looks as it does: a wave's reasons about its nodes as data (put into words by describeReason),
 * or a planner's sentence for the steps whose shape is fixed.
 */
export type StepReason = string | NodeReason;

interface StepCommon {
  /** Stable within the plan, e.g. "cp-v1.31.14-cp-1" or "pool-workers-v1.32.2-002" (a pool's second wave). */
  id: string;
  title: string;
  nodes: string[];
  /** Why the step looks like this (the pace of its flow, nodes moved in its order, budget limits). */
  reasons: StepReason[];
  /** What must hold before the next step starts. */
  checks: string[];
  /** How to undo or recover this step. */
  rollback: string;
  estimateSeconds: number;
  /** Wait after the step's checks pass (included in estimateSeconds). */
  soakSeconds?: number;
}

/** One control-plane member (or, with no nodes, a managed control plane) to one minor's version. */
export interface ControlPlaneStep extends StepCommon {
  kind: 'control-plane';
  /** The version this step moves its member to. */
  version: string;
}

/**
 * A wave of one pool's workers (or the canary): its nodes flow through cordon → drain → upgrade → verify →
 * uncordon, up to `maxInFlight` at once, the next admitted the moment one finishes; the gate and the soak
 * follow the wave. `nodes` is the order the flow expects; the engine admits each next node from the live
 * budgets, may take another, and records when and why.
 */
export interface NodeWaveStep extends StepCommon {
  kind: 'canary' | 'node-wave';
  /** The version this step moves its nodes to. */
  version: string;
  pool: string;
  /** Nodes out of service at once: the pool's maxUnavailable (+ maxSurge), less if the pods would not fit. */
  maxInFlight: number;
  /** False when a node's own pods exceed a budget: its drain waits for replacements or times out. */
  respectsBudgets?: boolean;
  /** False when a node's pods cannot all fit elsewhere. */
  fitsCapacity?: boolean;
  /**
   * Present when the capacity holds the wave to fewer in flight than the policy allows: `allowed` is what
   * the policy would let out at once here, and `short` what the pods of that many nodes (the busiest) would
   * lack on the rest: CPU (millicores) and memory (bytes) missing, and the pods of the placement groups
   * that do not fit.
   */
  capacityHold?: { allowed: number; short: { cpuMillis: number; memoryBytes: number; pods: number } };
  /**
   * strategy surge: each node is replaced by a new one at `version` (nodeProvider) and deleted once drained.
   * maxSurge new nodes may exist before their old ones are gone; maxUnavailable old ones may be out of service
   * before their replacement is Ready. Absent for in-place waves.
   */
  replacement?: {
    maxSurge: number;
    maxUnavailable: number;
    /**
     * strategy blue-green: the whole green pool is created and every blue node cordoned before the first
     * drain; drained blue nodes are held, not deleted, until the pool's last wave ends its final soak.
     */
    blueGreen?: true;
    /** On the pool's last blue-green wave: how long the drained blue pool is held, gates watching. */
    finalSoakSeconds?: number;
  };
}

/**
 * One member of an external etcd cluster (policy.etcd), upgraded or restarted by the etcd member provider
 * while the others keep quorum. It moves no Kubernetes node: `nodes` is empty.
 */
export interface EtcdMemberStep extends StepCommon {
  kind: 'etcd-member';
  /** The member's name, as etcd knows it. */
  member: string;
  /** Its client URL. */
  endpoint: string;
  /** The etcd version it moves to; absent: it is restarted as it is. */
  version?: string;
}

/** A step about the cluster as a whole: it moves no node. */
export interface ClusterStep extends StepCommon {
  kind: 'preflight' | 'etcd-backup' | 'addons' | 'validation';
}

/** A step of the plan, by kind: what the engine needs to carry it out is typed with it. */
export type PlanStep = ControlPlaneStep | NodeWaveStep | EtcdMemberStep | ClusterStep;

/** A step that upgrades nodes: a control-plane member, a canary or a wave. */
export type NodeStep = ControlPlaneStep | NodeWaveStep;

export function isNodeWave(step: PlanStep): step is NodeWaveStep {
  return step.kind === 'canary' || step.kind === 'node-wave';
}

/** The pool a step's nodes belong to ('' for a step that moves no worker). */
export function poolOfStep(step: PlanStep): string {
  return isNodeWave(step) ? step.pool : '';
}

export interface PlanPhase {
  kind: PhaseKind;
  name: string;
  version?: string;
  pool?: string;
  steps: PlanStep[];
  /** This phase alone; a phase flowing together with others (flowGroup) overlaps them. */
  estimateSeconds: number;
  /**
   * policy.poolConcurrency: the phases with the same flowGroup (consecutive node pools) flow side by side
   * after the canary, under the policy's run-wide in-flight cap; each keeps its waves, gates and soaks in
   * order. Absent: the phase runs alone, after the one before it.
   */
  flowGroup?: string;
}

/** Pools flowing side by side (PlanPhase.flowGroup), as the estimate counts them. */
export interface FlowGroupEstimate {
  id: string;
  pools: string[];
  /** Nodes out of service at once across the group (policy.poolConcurrency.maxInFlight). */
  maxInFlight: number;
  /** The group's phases together: the longest of them, or all their nodes' cycles under the cap. */
  estimateSeconds: number;
  /** The least the group can take (its physical floor plus the soaks of its slowest pool). */
  lowerBoundSeconds: number;
}

export interface PlanEstimate {
  totalSeconds: number;
  /** Canary and node-pool phases. */
  nodePhaseSeconds: number;
  /** Waves of the canary and node-pool phases (each ends with its gate and soak). */
  nodeWaves: number;
  /**
   * The least the node phases could take under the same policy: the physical bound (lower-bound.ts) plus
   * the soaks the policy asks for after each wave.
   */
  nodePhaseLowerBoundSeconds: number;
  lowerBound: LowerBound;
  /** policy.poolConcurrency: the pools that flow side by side, counted together above. */
  flowGroups?: FlowGroupEstimate[];
  /**
   * Each pool's node timings and where each came from, when earlier runs on this cluster measured some
   * (store/measured-history.ts); absent otherwise, where the policy's timings hold for every pool.
   */
  timings?: Array<{ pool: string } & PoolTimings>;
}

/** Where a timing the plan estimates with came from. */
export type TimingSource = 'policy' | 'measured' | 'default';

export interface TimingEstimate {
  seconds: number;
  source: TimingSource;
  /** source measured: earlier runs it is the median of. */
  runs?: number;
}

/** One pool's node timings: its drain, its upgrade per minor, and (measured only) its return to Ready. */
export interface PoolTimings {
  nodeDrain: TimingEstimate;
  nodeUpgrade: TimingEstimate;
  nodeReady?: TimingEstimate;
}

export interface Plan {
  schemaVersion: typeof PLAN_SCHEMA_VERSION;
  /** "plan-" + 12 hex digits of the SHA-256 of the plan without its id: same inputs, same id. */
  id: string;
  cluster: { server: string; fingerprint: string };
  snapshotTakenAt: string;
  source: string;
  target: string;
  /** Control-plane versions in order, one minor at a time (empty when only nodes move). */
  hops: string[];
  policy: Policy;
  phases: PlanPhase[];
  estimate: PlanEstimate;
  /** Things a reviewer must know: budgets no order can satisfy, capacity shortfalls, … */
  warnings: string[];
  /**
   * What preflight found blocking when the plan was written (absent when nothing did). `apply` re-runs
   * preflight and stops on them, so a plan that has them is for review until they are fixed.
   */
  blockers?: PlanBlocker[];
}

/** A preflight blocker as the plan records it: the check, what it is about, why, and what to do. */
export interface PlanBlocker {
  check: string;
  subject: string;
  message: string;
  fix: string;
}
