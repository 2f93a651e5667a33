/**
 * What every part of one execution shares: the run's identity, its dependencies, the store helpers that
 * write a transition and announce it, and the stop machinery (pause, abort, lost lease, crash).
 */
import { setMaxListeners } from 'node:events';
import type { KubeConfig } from '@kubernetes/client-node';
import { type Clock, type ClusterSnapshot, parseDuration } from '../core/index.ts';
import type { GateMonitor, GateMonitorDeps } from '../gates/gate-types.ts';
import {
  type BudgetWatch,
  ClusterAccess,
  DEFAULT_LEASE_NAME,
  DEFAULT_LEASE_NAMESPACE,
  type DrainOptions,
  type DrainProgress,
  type NodeWatch,
  shareConnections,
} from '../kube/index.ts';
import { observeRun, type RunObserver } from '../observe/index.ts';
import type { Plan, PlanStep } from '../plan/index.ts';
import type { NodeGroupProvider, UpgradeProvider } from '../providers/index.ts';
import {
  commandOutputFile,
  type EtcdMemberRowDetail,
  type LogLevel,
  type NodeGroupRowDetail,
  type NodeRowDetail,
  type PhaseRowDetail,
  type RunStore,
  type StepRowDetail,
  type StepStatePatch,
  type StepStateRecord,
} from '../store/index.ts';
import type { Hooks } from './hooks.ts';
import type { RunEvent } from './run-events.ts';
import { phaseRowId, ROLLBACK_STEP } from './run-summary.ts';

export interface EngineDeps {
  /** The run makes it keep connections alive and reuse them (see shareConnections). */
  kc: KubeConfig;
  store: RunStore;
  provider: UpgradeProvider;
  /** Creates and deletes nodes, for pools with strategy surge (the policy's nodeProvider). */
  nodeProvider?: NodeGroupProvider;
  clock: Clock;
  /** Every event of the run, in order; must not throw. */
  onEvent?: (event: RunEvent) => void;
  /** Substituted for {kubeconfig} in hook commands. */
  kubeconfigPath?: string;
  /**
   * Builds the run's health gates from its plan's `policy.gates` (the CLI passes src/gates' createGateMonitor,
   * so the engine loads no gate provider it does not need). Without it, only the kube-native wave gate runs.
   */
  gates?: GateMonitorFactory;
}

export type GateMonitorFactory = (specs: Plan['policy']['gates'], deps: GateMonitorDeps) => GateMonitor;

/** Tunables of one execution; the defaults suit a real cluster (tests shorten them). */
export interface RunOptions {
  /** Lease holder identity; default `midflight/<runId>@<host>:<pid>`. */
  holder?: string;
  /** Default 30. */
  leaseDurationSeconds?: number;
  /** Clock ms to wait for a node to be Ready at its new version. Default 10 minutes. */
  nodeReadyTimeoutMs?: number;
  /** Clock ms to wait for a control-plane member's components. Default 15 minutes. */
  controlPlaneTimeoutMs?: number;
  /** Clock ms between reads while waiting. Default 2 s. */
  pollIntervalMs?: number;
  /** Clock ms between looks at the store for a pause or abort request. Default 1 s. */
  controlPollMs?: number;
  /** Clock ms a wave's gate may take to pass. Default 5 minutes. */
  gateTimeoutMs?: number;
  /** A pod Pending for longer than this after a wave fails its gate. Default 2 minutes. */
  pendingGraceMs?: number;
  /**
   * Clock ms an add-on rollout may go without a pod updated or made available before the step fails.
   * Default 10 minutes (a Deployment's default progressDeadlineSeconds).
   */
  addonsProgressDeadlineMs?: number;
  /** Overrides of the drain options derived from the policy (e.g. faster retries in tests). */
  drain?: Partial<DrainOptions>;
  /** Overrides policy.provider.retries / retryDelay. */
  providerRetries?: number;
  providerRetryDelayMs?: number;
  /** Stops the run at the next safe point, leaving it `paused` (e.g. on Ctrl-C). */
  signal?: AbortSignal;
  /**
   * Skips the etcd-backup phase, saying this reason: for a run on a copy of a cluster (a rehearsal), whose
   * backup would be of the copy, not of the cluster.
   */
  skipEtcdBackup?: string;
}

export type ResolvedRunOptions = Required<
  Omit<RunOptions, 'holder' | 'signal' | 'drain' | 'skipEtcdBackup'>
> &
  Pick<RunOptions, 'holder' | 'signal' | 'drain' | 'skipEtcdBackup'>;

export function resolveRunOptions(plan: Plan, options: RunOptions): ResolvedRunOptions {
  const settings = plan.policy.provider;
  const retries = typeof settings.retries === 'number' ? settings.retries : 0;
  const retryDelayMs =
    settings.retryDelay !== undefined ? parseDuration(String(settings.retryDelay)) : 30_000;
  return {
    holder: options.holder,
    signal: options.signal,
    drain: options.drain,
    skipEtcdBackup: options.skipEtcdBackup,
    leaseDurationSeconds: options.leaseDurationSeconds ?? 30,
    nodeReadyTimeoutMs: options.nodeReadyTimeoutMs ?? 10 * 60_000,
    controlPlaneTimeoutMs: options.controlPlaneTimeoutMs ?? 15 * 60_000,
    pollIntervalMs: options.pollIntervalMs ?? 2_000,
    controlPollMs: options.controlPollMs ?? 1_000,
    gateTimeoutMs: options.gateTimeoutMs ?? 5 * 60_000,
    pendingGraceMs: options.pendingGraceMs ?? 2 * 60_000,
    addonsProgressDeadlineMs: options.addonsProgressDeadlineMs ?? 10 * 60_000,
    providerRetries: options.providerRetries ?? retries,
    providerRetryDelayMs: options.providerRetryDelayMs ?? retryDelayMs,
  };
}

/** The cluster as read at one time of the run's clock. */
export interface ReadSnapshot {
  snapshot: ClusterSnapshot;
  readAt: number;
}

/**
 * How old (clock ms) the snapshot an execution began with may be for its preflight step to use it instead of
 * reading the cluster again: the time it takes to take a free Lease and record the run, not a wait for a held
 * Lease or a maintenance window.
 */
const START_SNAPSHOT_FRESH_MS = 5_000;

export type StopKind = 'pause' | 'abort' | 'interrupt' | 'lease-lost' | 'fatal';

/** Thrown at a checkpoint once a stop was requested; unwinds the run to its stop handling. */
export class StopSignal extends Error {
  constructor(
    readonly kind: StopKind,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'StopSignal';
  }
}

export const ANNOTATIONS = {
  runId: 'upgrade.midflight.dev/run-id',
  planHash: 'upgrade.midflight.dev/plan-hash',
  step: 'upgrade.midflight.dev/step',
  quarantined: 'upgrade.midflight.dev/quarantined',
} as const;

export class RunContext {
  readonly cluster: ClusterAccess;
  stop?: { kind: StopKind; reason: string; keepCordoned: boolean };
  /** Fires on abort (stops drains) and on a fatal error. */
  readonly drainStop = new AbortController();
  /** Fires only on a fatal error (crash): providers kill their commands. */
  readonly fatal = new AbortController();
  fatalError?: unknown;
  /** Which DaemonSets exist, asked once for all the drains of the wave in flight (see DrainOptions). */
  daemonSetCache = new Map<string, Promise<boolean>>();
  /**
   * Every node, watched for the whole run (run-execution.ts): node waits, cordons and gates read it instead of
   * polling, and fall back to reading the API while it is down.
   */
  nodeWatch?: NodeWatch;
  /** The cluster's budgets, watched while a wave flows: its drains and its admission read them (node-flow.ts). */
  budgetWatch?: BudgetWatch;
  /** Every drain's progress, told to the flows admitting nodes from it (node-flow.ts; pools may flow together). */
  readonly drainListeners = new Set<(node: string, progress: DrainProgress) => void>();
  onDrainProgress?: (node: string, progress: DrainProgress) => void = (node, progress) => {
    for (const listener of this.drainListeners) listener(node, progress);
  };
  /** Flows sharing the budget watch now: the last to end stops it (node-flow.ts). */
  budgetWatchUsers = 0;
  /**
   * policy.poolConcurrency: nodes a resumed group of pools will restart (already admitted, maybe cordoned),
   * and admissions being decided now; both count against the run-wide cap until the node is in flight.
   */
  readonly reservedFlight = new Set<string>();
  admissionsDeciding = 0;
  /** Pools are flowing side by side now (pool-group.ts runs them). */
  flowGroupRunning = false;
  /** A pool flowing with others failed: no flow admits another node; those in flight finish (pool-group.ts). */
  admissionsHalted?: string;
  private flightWaiters: Array<() => void> = [];
  /** Nodes being quarantined by this execution → their pool (see quarantine-limit.ts). */
  readonly quarantining = new Map<string, string>();
  /** Alertmanager silences around each node, notifications, run-id-labelled Events (policy.alerts). */
  readonly observer: RunObserver;
  /** The health gates of an upgrade (gate-checks.ts); undefined without a factory or in rollback mode. */
  gates?: GateMonitor;
  /** This execution has its gates' baselines (recorded now, or read back from the store). */
  gatesBaselined = false;
  /** The nodes in flight now: a wave's (its flow) or a control-plane member (M2 leaves them out). */
  readonly nodesInFlight = new Set<string>();
  /** When (run clock) each node last left the flight: gates reading lagging data leave it out a while longer. */
  readonly nodesLeftFlight = new Map<string, number>();
  /**
   * A new run: the cluster as it was read to check the plan (upgrade-run.ts), until the first step takes it or
   * a hook runs (takeStartSnapshot).
   */
  startSnapshot?: ReadSnapshot;
  /** A gate asked to roll back this step's nodes; the run stopped admitting, then rolls them back. */
  gateRollback?: { stepId: string; gate: string; reason: string; stopReason: string };

  constructor(
    readonly deps: EngineDeps,
    readonly runId: string,
    readonly plan: Plan,
    readonly planHash: string,
    readonly options: ResolvedRunOptions,
    readonly hooks: Hooks,
  ) {
    // Note: a run makes thousands of requests; without this each one opens a connection (and a TLS session).
    shareConnections(deps.kc);
    // Note: every node in flight listens to these (its drain, its provider); 100 listeners are not a leak.
    setMaxListeners(0, this.drainStop.signal, this.fatal.signal);
    this.cluster = new ClusterAccess(deps.kc, deps.clock);
    this.observer = observeRun({
      alerts: plan.policy.alerts,
      runId,
      plan,
      clock: deps.clock,
      kc: deps.kc,
      rollbackStep: ROLLBACK_STEP,
      runIdKey: ANNOTATIONS.runId,
      lease: { name: DEFAULT_LEASE_NAME, namespace: DEFAULT_LEASE_NAMESPACE },
      log: (level, message, where) => this.log(level, message, where),
    });
  }

  /**
   * The snapshot a new run began with, once, when read moments ago: its preflight step checks the cluster as
   * the plan check just read it instead of reading it all again (on a large cluster, seconds of CPU on both
   * ends). Undefined once taken, after a hook ran, or when a wait came in between (a held Lease, a
   * maintenance window).
   */
  takeStartSnapshot(): ClusterSnapshot | undefined {
    const read = this.startSnapshot;
    this.startSnapshot = undefined;
    return read && this.clock.now() - read.readAt <= START_SNAPSHOT_FRESH_MS ? read.snapshot : undefined;
  }

  get store(): RunStore {
    return this.deps.store;
  }
  get clock(): Clock {
    return this.deps.clock;
  }
  get kc(): KubeConfig {
    return this.deps.kc;
  }

  emit(event: DistributiveOmit<RunEvent, 'runId' | 'time'>): void {
    const full = { ...event, runId: this.runId, time: this.clock.now() } as RunEvent;
    try {
      this.observer.onEvent(full);
      this.deps.onEvent?.(full);
    } catch {
      // A watcher's failure must not stop an upgrade.
    }
  }

  log(
    level: LogLevel,
    message: string,
    where: { stepId?: string; node?: string; data?: Record<string, unknown> } = {},
  ) {
    this.store.appendLog(this.runId, {
      level,
      message,
      step: where.stepId,
      node: where.node,
      data: where.data,
    });
    if (level === 'warn') this.emit({ type: 'warning', message, stepId: where.stepId, node: where.node });
    else this.emit({ type: 'log', level, message, stepId: where.stepId, node: where.node });
  }

  /** The file the output of one of the run's commands goes to (see store/state-dir.ts). */
  outputFile(name: string): string {
    return commandOutputFile(this.store.path, this.runId, name);
  }

  // Note: each kind of row has its own accessors, so that its detail (store/row-detail.ts) is typed by the
  // key that addresses it.

  /** A phase's row. */
  phaseRow(index: number): StepStateRecord<PhaseRowDetail> | undefined {
    return this.store.stepState<PhaseRowDetail>(this.runId, phaseRowId(index));
  }

  putPhaseRow(index: number, patch: StepStatePatch<PhaseRowDetail>): StepStateRecord<PhaseRowDetail> {
    return this.store.putStepState(this.runId, phaseRowId(index), '', patch);
  }

  /** A step's own row, any kind of step (a canary or wave's has more: nodeGroupRow). */
  stepRow(stepId: string): StepStateRecord<StepRowDetail> | undefined {
    return this.store.stepState<StepRowDetail>(this.runId, stepId);
  }

  putStepRow(stepId: string, patch: StepStatePatch<StepRowDetail>): StepStateRecord<StepRowDetail> {
    return this.store.putStepState(this.runId, stepId, '', patch);
  }

  /** The own row of an etcd member's step. */
  etcdMemberRow(stepId: string): StepStateRecord<EtcdMemberRowDetail> | undefined {
    return this.store.stepState<EtcdMemberRowDetail>(this.runId, stepId);
  }

  putEtcdMemberRow(
    stepId: string,
    patch: StepStatePatch<EtcdMemberRowDetail>,
  ): StepStateRecord<EtcdMemberRowDetail> {
    return this.store.putStepState(this.runId, stepId, '', patch);
  }

  /** The own row of a canary or wave. */
  nodeGroupRow(stepId: string): StepStateRecord<NodeGroupRowDetail> | undefined {
    return this.store.stepState<NodeGroupRowDetail>(this.runId, stepId);
  }

  putNodeGroupRow(
    stepId: string,
    patch: StepStatePatch<NodeGroupRowDetail>,
  ): StepStateRecord<NodeGroupRowDetail> {
    return this.store.putStepState(this.runId, stepId, '', patch);
  }

  /** A node's row within a step. */
  nodeRow(stepId: string, node: string): StepStateRecord<NodeRowDetail> | undefined {
    return this.store.stepState<NodeRowDetail>(this.runId, stepId, node);
  }

  /** `node` is being upgraded: out of service until leaveFlight (gates leave it out). */
  enterFlight(node: string): void {
    this.nodesInFlight.add(node);
  }

  leaveFlight(node: string): void {
    this.nodesInFlight.delete(node);
    this.nodesLeftFlight.set(node, this.clock.now());
    this.wakeFlightWaiters();
  }

  /**
   * Room left under policy.poolConcurrency.maxInFlight, across every flow of the run (Infinity without it):
   * nodes in flight, restarts reserved and admissions being decided all take a slot.
   */
  flightRoom(): number {
    const cap = this.plan.policy.poolConcurrency?.maxInFlight;
    if (cap === undefined) return Number.POSITIVE_INFINITY;
    return cap - this.nodesInFlight.size - this.reservedFlight.size - this.admissionsDeciding;
  }

  /** Resolves when a node leaves the flight or admissions halt: a flow waiting for room asks again. */
  flightChanged(): Promise<void> {
    return new Promise((resolve) => this.flightWaiters.push(resolve));
  }

  /** Pools flowing together admit no more node (the first reason stays); waiting flows look again. */
  haltAdmissions(reason: string): void {
    // Note: a flow alone stops on its own failure; only a group's other pools must be told.
    if (!this.flowGroupRunning) return;
    this.admissionsHalted ??= reason;
    this.wakeFlightWaiters();
  }

  wakeFlightWaiters(): void {
    const waiters = this.flightWaiters;
    this.flightWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Writes a node's row and announces the change (`activity`: what the node is doing now). */
  putNodeRow(
    stepId: string,
    node: string,
    patch: StepStatePatch<NodeRowDetail>,
    activity?: string,
  ): StepStateRecord<NodeRowDetail> {
    const row = this.store.putStepState(this.runId, stepId, node, withMilestoneTime(patch, this.clock.now()));
    this.emit({
      type: 'node-changed',
      stepId,
      node,
      status: row.status,
      subStep: row.subStep,
      activity,
      message: patch.detail?.reason,
    });
    return row;
  }

  requestStop(kind: StopKind, reason: string, keepCordoned = false): void {
    if (this.stop && (this.stop.kind === 'fatal' || this.stop.kind === 'abort')) return;
    // A lost lease stops at the next sub-step: a later pause or Ctrl-C must not let the nodes run on.
    if (this.stop?.kind === 'lease-lost' && (kind === 'pause' || kind === 'interrupt')) return;
    this.stop = { kind, reason, keepCordoned };
    if (kind === 'abort' || kind === 'fatal') this.drainStop.abort();
    this.wakeFlightWaiters();
  }

  fail(err: unknown): void {
    this.fatalError ??= err;
    this.requestStop('fatal', err instanceof Error ? err.message : String(err));
    this.fatal.abort();
  }

  /**
   * Throws StopSignal when the run must stop here. Between a node's sub-steps only an abort, a lost lease
   * or a crash stop it; a pause or an interrupt (Ctrl-C, which the CLI promises lets the nodes in flight
   * finish; a second Ctrl-C exits at once) stops between steps, and a wave admits no more nodes.
   */
  checkpoint(where: 'sub-step' | 'step'): void {
    const stop = this.stop;
    if (!stop) return;
    if (where === 'sub-step' && (stop.kind === 'pause' || stop.kind === 'interrupt')) return;
    throw new StopSignal(stop.kind, stop.reason);
  }

  stamps(step: PlanStep): Record<string, string> {
    return {
      [ANNOTATIONS.runId]: this.runId,
      [ANNOTATIONS.planHash]: this.planHash.slice(0, 12),
      [ANNOTATIONS.step]: step.id,
    };
  }

  /** Sleeps in short slices so a stop request is noticed; throws StopSignal at `where`. */
  async sleepUntil(untilMs: number, where: 'sub-step' | 'step'): Promise<void> {
    for (;;) {
      this.checkpoint(where);
      const left = untilMs - this.clock.now();
      if (left <= 0) return;
      await this.clock.sleep(Math.min(left, this.options.controlPollMs));
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The milestones whose time is kept on a node's row: a later `plan` measures the cluster from them. */
const TIMED_MILESTONES = { drained: 'drainedAt', upgraded: 'upgradedAt', verified: 'verifiedAt' } as const;

function withMilestoneTime(patch: StepStatePatch<NodeRowDetail>, now: number): StepStatePatch<NodeRowDetail> {
  const key =
    patch.subStep && patch.subStep in TIMED_MILESTONES
      ? TIMED_MILESTONES[patch.subStep as keyof typeof TIMED_MILESTONES]
      : undefined;
  return key ? { ...patch, detail: { ...patch.detail, [key]: now } } : patch;
}
