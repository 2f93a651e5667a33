/**
 * The run's own Prometheus metrics (`midflight_*`), kept from its events: what `--metrics-addr` serves.
 * Every series carries the run's id (`run_id`), so one Prometheus can hold many runs and the exported
 * dashboards and rules pick one with `$run_id` or group by it.
 *
 * Durations are the run's clock time (a sandbox's scaled time on a sandbox), the same times the events,
 * the store and `status` give.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../core/index.ts';
import type { RunEvent } from '../engine/index.ts';
import type { GateEvaluation } from '../gates/index.ts';
import { RUN_STATES } from '../store/index.ts';
import { ACTIVE_STAGES, type NodeStage, nodeStageOf, nodeStageValue } from './node-stages.ts';

/** What the run is about, known before its first event (the CLI has the plan). */
export interface RunMetricsOptions {
  clock: Clock;
  /** The cluster's API server URL, as the plan names it: the executive dashboard's "which cluster". */
  cluster?: string;
  /** How many phases the plan has, and its node steps' nodes: progress is measured against them. */
  plannedPhases?: number;
  plannedNodes?: readonly string[];
  /** Default: a registry of its own. */
  registry?: Registry;
}

/** Upgrades of one node take minutes to an hour; cordon and uncordon take seconds. */
const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

interface NodeTrack {
  stage: NodeStage;
  /** Clock ms when it entered `stage`. */
  since: number;
  /** Clock ms when the run admitted it (its first stage past pending). */
  admittedAt?: number;
}

interface DrainTrack {
  /** Pods evicted so far by this drain, as its last progress said. */
  evicted: number;
  /** `pod@budget` of the pods a budget refuses now. */
  blocked: Set<string>;
}

export class RunMetrics {
  readonly registry: Registry;
  private readonly clock: Clock;
  private runId = '';
  private readonly nodes = new Map<string, NodeTrack>();
  private readonly planned: readonly string[];
  private readonly stepKinds = new Map<string, string>();
  private readonly drains = new Map<string, DrainTrack>();
  /** Per budget: the nodes whose drain it holds now, since when, and the time it held drains before. */
  private readonly budgetHolds = new Map<string, { nodes: Set<string>; since?: number; heldMs: number }>();

  private readonly runInfo: Gauge<string>;
  private readonly runState: Gauge<string>;
  private readonly phaseRunning: Gauge<string>;
  private readonly phasesPlanned: Gauge<string>;
  private readonly phasesFinished: Counter<string>;
  private readonly phaseDuration: Histogram<string>;
  private readonly stepDuration: Histogram<string>;
  private readonly nodesPlanned: Gauge<string>;
  private readonly nodeStage: Gauge<string>;
  private readonly nodeStageDuration: Histogram<string>;
  private readonly nodeDuration: Histogram<string>;
  private readonly evictions: Counter<string>;
  private readonly evictionRetries: Counter<string>;
  private readonly budgetBlockedPods: Gauge<string>;
  private readonly gateEvaluations: Counter<string>;
  private readonly gateValue: Gauge<string>;
  private readonly gateBaseline: Gauge<string>;
  private readonly warnings: Counter<string>;

  constructor(private readonly options: RunMetricsOptions) {
    this.clock = options.clock;
    this.planned = options.plannedNodes ?? [];
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    const self = this;
    this.runInfo = new Gauge({
      name: 'midflight_run_info',
      help: 'Always 1: what the run upgrades (cluster, plan, source and target version, mode).',
      labelNames: ['run_id', 'cluster', 'plan_id', 'source', 'target', 'mode'],
      registers,
    });
    this.runState = new Gauge({
      name: 'midflight_run_state',
      help: "1 for the run's current state (running, paused, succeeded, …), 0 for the others.",
      labelNames: ['run_id', 'state'],
      registers,
    });
    this.phaseRunning = new Gauge({
      name: 'midflight_run_phase',
      help: 'The phases of the run this process executed: 1 while it runs, 0 once it has finished.',
      labelNames: ['run_id', 'phase', 'kind', 'name'],
      registers,
    });
    this.phasesPlanned = new Gauge({
      name: 'midflight_phases_planned',
      help: "The number of phases in the run's plan.",
      labelNames: ['run_id'],
      registers,
    });
    this.phasesFinished = new Counter({
      name: 'midflight_phases_finished_total',
      help: 'Phases this process saw finish.',
      labelNames: ['run_id', 'kind'],
      registers,
    });
    this.phaseDuration = new Histogram({
      name: 'midflight_phase_duration_seconds',
      help: 'How long each phase took, from its start to its end (clock seconds).',
      labelNames: ['run_id', 'kind'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.stepDuration = new Histogram({
      name: 'midflight_step_duration_seconds',
      help: 'How long each step took (a wave, the control plane, a backup, …), by kind and outcome.',
      labelNames: ['run_id', 'kind', 'status'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'midflight_nodes',
      help: 'Nodes of the run by stage: pending, admitted, cordon, drain, upgrade, verify, uncordon, done, skipped, quarantined, failed.',
      labelNames: ['run_id', 'state'],
      registers,
      collect() {
        self.countNodes(this);
      },
    });
    this.nodesPlanned = new Gauge({
      name: 'midflight_nodes_planned',
      help: "Nodes the run's plan upgrades (rollback: the nodes it returns).",
      labelNames: ['run_id'],
      registers,
    });
    this.nodeStage = new Gauge({
      name: 'midflight_node_stage',
      help: 'Where each node is: the index of its stage in pending, admitted, cordon, drain, upgrade, verify, uncordon, done, skipped, quarantined, failed.',
      labelNames: ['run_id', 'node'],
      registers,
    });
    new Gauge({
      name: 'midflight_node_drain_seconds',
      help: 'How long each node being drained now has been draining (clock seconds); no series for other nodes.',
      labelNames: ['run_id', 'node'],
      registers,
      collect() {
        this.reset();
        const now = self.clock.now();
        for (const [node, track] of self.nodes)
          if (track.stage === 'drain') this.set({ run_id: self.runId, node }, (now - track.since) / 1000);
      },
    });
    this.nodeStageDuration = new Histogram({
      name: 'midflight_node_stage_duration_seconds',
      help: 'How long nodes spent in each stage: cordon, drain, upgrade, verify, uncordon.',
      labelNames: ['run_id', 'stage'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.nodeDuration = new Histogram({
      name: 'midflight_node_duration_seconds',
      help: 'How long each node took from its admission to its end, by outcome (done, skipped, quarantined, failed).',
      labelNames: ['run_id', 'status'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.evictions = new Counter({
      name: 'midflight_evictions_total',
      help: "Pods the run's drains evicted, by node.",
      labelNames: ['run_id', 'node'],
      registers,
    });
    this.evictionRetries = new Counter({
      name: 'midflight_eviction_retries_total',
      help: 'Evictions a disruption budget held back, by budget: refused (HTTP 429), or kept from being sent while the budget watch saw it allow none; counted once each time a pod starts waiting for it.',
      labelNames: ['run_id', 'budget'],
      registers,
    });
    new Counter({
      name: 'midflight_budget_blocked_seconds_total',
      help: 'Time (clock seconds) during which a disruption budget held at least one of the run’s drains.',
      labelNames: ['run_id', 'budget'],
      registers,
      collect() {
        this.reset();
        const now = self.clock.now();
        for (const [budget, hold] of self.budgetHolds) {
          const open = hold.since === undefined ? 0 : now - hold.since;
          this.inc({ run_id: self.runId, budget }, (hold.heldMs + open) / 1000);
        }
      },
    });
    this.budgetBlockedPods = new Gauge({
      name: 'midflight_budget_blocked_pods',
      help: "Pods a disruption budget refuses to let go now, by budget, over the run's drains in flight.",
      labelNames: ['run_id', 'budget'],
      registers,
    });
    this.gateEvaluations = new Counter({
      name: 'midflight_gate_evaluations_total',
      help: 'Gate evaluations by gate and verdict (success, failure, inconclusive).',
      labelNames: ['run_id', 'gate', 'verdict'],
      registers,
    });
    this.gateValue = new Gauge({
      name: 'midflight_gate_value',
      help: "The value each gate's query gave at its last evaluation.",
      labelNames: ['run_id', 'gate'],
      registers,
    });
    this.gateBaseline = new Gauge({
      name: 'midflight_gate_baseline',
      help: "Each gate's baseline, recorded before the first node was touched.",
      labelNames: ['run_id', 'gate'],
      registers,
    });
    this.warnings = new Counter({
      name: 'midflight_warnings_total',
      help: 'Warnings the run reported (a node set aside, a preflight finding, a lease held by another, …).',
      labelNames: ['run_id'],
      registers,
    });
  }

  /** Records one event of the run; never throws (it is called from the run's event stream). */
  onEvent(event: RunEvent): void {
    try {
      this.record(event);
    } catch {
      // A metric that cannot be recorded must not disturb the run.
    }
  }

  /**
   * The stages of nodes this process will not hear about: a resumed run's nodes finished (or set aside)
   * by an earlier process. Call it after `run-started`.
   */
  seedNodes(stages: ReadonlyMap<string, NodeStage>): void {
    const now = this.clock.now();
    for (const [node, stage] of stages) {
      // Note: `run-started` counted the plan's nodes pending; what this process has seen itself stands.
      const seen = this.nodes.get(node);
      if (!seen || seen.stage === 'pending') this.setStage(node, { stage, since: now });
    }
  }

  private record(event: RunEvent): void {
    switch (event.type) {
      case 'gate-evaluated':
        this.recordGate(event.evaluation);
        return;
      case 'run-started': {
        this.runId = event.runId;
        const run_id = event.runId;
        this.runInfo.set(
          {
            run_id,
            cluster: this.options.cluster ?? '',
            plan_id: event.planId,
            source: event.source,
            target: event.target,
            mode: event.mode,
          },
          1,
        );
        this.setState('running');
        // A rollback has steps of its own, and returns the nodes they name: not the plan's phases and nodes.
        if (event.mode === 'upgrade') {
          if (this.options.plannedPhases !== undefined)
            this.phasesPlanned.set({ run_id }, this.options.plannedPhases);
          this.nodesPlanned.set({ run_id }, this.planned.length);
          for (const node of this.planned)
            if (!this.nodes.has(node)) this.setStage(node, { stage: 'pending', since: event.time });
        }
        return;
      }
      case 'phase-started':
        this.phaseRunning.set(this.phaseLabels(event), 1);
        return;
      case 'phase-finished':
        this.phaseRunning.set(this.phaseLabels(event), 0);
        this.phasesFinished.inc({ run_id: this.runId, kind: event.kind });
        this.phaseDuration.observe({ run_id: this.runId, kind: event.kind }, event.durationMs / 1000);
        return;
      case 'step-started':
        this.stepKinds.set(event.stepId, event.kind);
        for (const node of event.nodes)
          if (!this.nodes.has(node)) this.setStage(node, { stage: 'pending', since: event.time });
        this.nodesPlanned.set({ run_id: this.runId }, this.nodes.size);
        return;
      case 'step-finished':
        this.stepDuration.observe(
          { run_id: this.runId, kind: this.stepKinds.get(event.stepId) ?? 'unknown', status: event.status },
          event.durationMs / 1000,
        );
        return;
      case 'node-changed':
        this.recordNode(event.node, event.stepId, event.status, event.activity, event.time);
        return;
      case 'eviction-progress':
        this.recordDrain(event);
        return;
      case 'warning':
        this.warnings.inc({ run_id: this.runId || event.runId });
        return;
      case 'run-finished':
        for (const node of [...this.nodes.keys()]) this.releaseBudgets(node, event.time);
        this.setState(event.state);
        return;
    }
  }

  private phaseLabels(event: { phase: number; kind: string; name: string }) {
    return { run_id: this.runId, phase: String(event.phase), kind: event.kind, name: event.name };
  }

  private setState(state: string): void {
    for (const s of RUN_STATES) this.runState.set({ run_id: this.runId, state: s }, s === state ? 1 : 0);
  }

  private recordNode(
    node: string,
    stepId: string,
    status: string,
    activity: string | undefined,
    time: number,
  ): void {
    const before = this.nodes.get(node);
    const stage = nodeStageOf(status, activity, before?.stage);
    if (before?.stage === stage) return;
    if (before && ACTIVE_STAGES.includes(before.stage))
      this.nodeStageDuration.observe(
        { run_id: this.runId, stage: before.stage },
        Math.max(0, time - before.since) / 1000,
      );
    let admittedAt = before?.admittedAt;
    if (stage === 'pending') admittedAt = undefined;
    else if (admittedAt === undefined || isEnd(before?.stage)) admittedAt = time;
    if (isEnd(stage) && admittedAt !== undefined)
      this.nodeDuration.observe({ run_id: this.runId, status: stage }, Math.max(0, time - admittedAt) / 1000);
    this.setStage(node, { stage, since: time, admittedAt });
    if (stage !== 'drain') {
      this.releaseBudgets(node, time);
      this.drains.delete(`${stepId}/${node}`);
    }
  }

  private setStage(node: string, track: NodeTrack): void {
    this.nodes.set(node, track);
    this.nodeStage.set({ run_id: this.runId, node }, nodeStageValue(track.stage));
  }

  private countNodes(gauge: Gauge<string>): void {
    gauge.reset();
    if (!this.runId) return;
    const counts = new Map<string, number>();
    for (const { stage } of this.nodes.values()) counts.set(stage, (counts.get(stage) ?? 0) + 1);
    for (const [state, n] of counts) gauge.set({ run_id: this.runId, state }, n);
  }

  private recordDrain(event: Extract<RunEvent, { type: 'eviction-progress' }>): void {
    const key = `${event.stepId}/${event.node}`;
    let drain = this.drains.get(key);
    // A drain that starts again (the node retried, or the run resumed) counts from zero.
    if (!drain || event.evicted < drain.evicted) {
      drain = { evicted: 0, blocked: drain?.blocked ?? new Set() };
      this.drains.set(key, drain);
    }
    if (event.evicted > drain.evicted)
      this.evictions.inc({ run_id: this.runId, node: event.node }, event.evicted - drain.evicted);
    drain.evicted = event.evicted;
    const blocked = new Set(event.blocking.map((b) => `${b.pod}@${b.budget ?? 'unknown'}`));
    for (const entry of blocked)
      if (!drain.blocked.has(entry))
        this.evictionRetries.inc({ run_id: this.runId, budget: budgetOf(entry) });
    drain.blocked = blocked;
    this.updateBudgetHolds(event.node, blocked, event.time);
  }

  /** Which budgets hold `node`'s drain now (from its blocked pods), opening and closing their hold times. */
  private updateBudgetHolds(node: string, blocked: ReadonlySet<string>, time: number): void {
    const budgets = new Set([...blocked].map(budgetOf));
    for (const budget of budgets) {
      const hold = this.budgetHolds.get(budget) ?? { nodes: new Set<string>(), heldMs: 0 };
      this.budgetHolds.set(budget, hold);
      if (hold.nodes.size === 0) hold.since = time;
      hold.nodes.add(node);
    }
    for (const [budget, hold] of this.budgetHolds)
      if (!budgets.has(budget) && hold.nodes.delete(node) && hold.nodes.size === 0) {
        hold.heldMs += Math.max(0, time - (hold.since ?? time));
        hold.since = undefined;
      }
    this.countBlockedPods();
  }

  private releaseBudgets(node: string, time: number): void {
    for (const [key, drain] of this.drains)
      if (key.endsWith(`/${node}`) && drain.blocked.size > 0) drain.blocked = new Set();
    this.updateBudgetHolds(node, new Set(), time);
  }

  private countBlockedPods(): void {
    const pods = new Map<string, number>();
    for (const budget of this.budgetHolds.keys()) pods.set(budget, 0);
    for (const drain of this.drains.values())
      for (const entry of drain.blocked) pods.set(budgetOf(entry), (pods.get(budgetOf(entry)) ?? 0) + 1);
    for (const [budget, n] of pods) this.budgetBlockedPods.set({ run_id: this.runId, budget }, n);
  }

  private recordGate(evaluation: GateEvaluation): void {
    const labels = { run_id: this.runId, gate: evaluation.gate };
    this.gateEvaluations.inc({ ...labels, verdict: evaluation.verdict });
    if (evaluation.value !== undefined && Number.isFinite(evaluation.value))
      this.gateValue.set(labels, evaluation.value);
    if (evaluation.baseline !== undefined && Number.isFinite(evaluation.baseline))
      this.gateBaseline.set(labels, evaluation.baseline);
  }
}

function isEnd(stage: NodeStage | undefined): boolean {
  return stage === 'done' || stage === 'skipped' || stage === 'quarantined' || stage === 'failed';
}

function budgetOf(entry: string): string {
  return entry.slice(entry.lastIndexOf('@') + 1);
}
