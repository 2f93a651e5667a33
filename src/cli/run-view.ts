/**
 * What a person (or a script) sees while a run executes, built from the engine's RunEvents:
 *
 * - `live`  (stdout is a terminal): a block redrawn in place at most 5 times a second — phases, the step in
 *           flight, each of its nodes with what it is doing, blocked evictions and the budgets behind them,
 *           elapsed and estimated time left, each health gate's latest verdict, value and baseline — with
 *           warnings and log lines scrolling above it.
 * - `lines` (piped, or `--no-live`): one plain line per change, suitable for CI logs.
 * - `json`  (`-o json`): every event as one JSON object per line, nothing else on stdout.
 */
import { type Clock, formatDuration, formatMeasurement } from '../core/index.ts';
import type { PodBlock, RunEvent } from '../engine/index.ts';
import type { GateEvaluation } from '../gates/gate-types.ts';
import type { Plan, PlanStep } from '../plan/index.ts';

export type ViewMode = 'live' | 'lines' | 'json';

export interface RunView {
  onEvent(event: RunEvent): void;
  /** A line from the CLI itself (e.g. "Ctrl-C: pausing…"): above the live block, or on stderr. */
  note(message: string): void;
  /** Stops redrawing and leaves the last frame on screen, with nothing in it still marked as running. */
  close(): void;
}

interface NodeLine {
  node: string;
  activity: string;
  blocking: PodBlock[];
  pending?: number;
}

const MAX_BLOCKERS_SHOWN = 3;
const PAST_MILESTONES = new Set(['start', 'cordoned', 'drained', 'upgraded', 'verified']);

export function createRunView(
  mode: ViewMode,
  plan: Plan,
  clock: Clock,
  out: NodeJS.WriteStream = process.stdout,
): RunView {
  if (mode === 'json') return new JsonView(out);
  if (mode === 'lines') return new LinesView(plan, out);
  return new LiveView(plan, clock, out);
}

class JsonView implements RunView {
  constructor(private readonly out: NodeJS.WriteStream) {}
  onEvent(event: RunEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`);
  }
  note(message: string): void {
    process.stderr.write(`${message}\n`);
  }
  close(): void {}
}

/** Shared bookkeeping: which step is in flight, what each of its nodes does, what remains. */
class RunProgress {
  readonly steps = new Map<string, { step: PlanStep; phase: number }>();
  readonly finished = new Set<string>();
  readonly nodes = new Map<string, NodeLine>();
  currentPhase = -1;
  currentStep?: PlanStep;
  startedAt?: number;
  soakUntil?: number;
  /** Outside every maintenance window: when the next opens. */
  windowUntil?: number;
  /** Each health gate's latest evaluation, by gate name. */
  readonly gates = new Map<string, GateEvaluation>();

  constructor(readonly plan: Plan) {
    plan.phases.forEach((p, phase) => {
      for (const step of p.steps) this.steps.set(step.id, { step, phase });
    });
  }

  apply(e: RunEvent): void {
    switch (e.type) {
      case 'run-started':
        this.startedAt = e.time;
        break;
      case 'phase-started':
        this.currentPhase = e.phase;
        break;
      case 'step-started':
        this.currentStep = this.steps.get(e.stepId)?.step;
        this.soakUntil = undefined;
        this.nodes.clear();
        for (const node of e.nodes) this.nodes.set(node, { node, activity: 'waiting', blocking: [] });
        break;
      case 'step-finished':
        this.finished.add(e.stepId);
        break;
      case 'node-changed': {
        const line = this.nodes.get(e.node) ?? { node: e.node, activity: '', blocking: [] };
        line.activity = e.activity ?? e.status;
        if (e.activity !== 'drain') {
          line.blocking = [];
          line.pending = undefined;
        }
        this.nodes.set(e.node, line);
        break;
      }
      case 'eviction-progress': {
        const line = this.nodes.get(e.node) ?? { node: e.node, activity: 'drain', blocking: [] };
        line.blocking = e.blocking;
        line.pending = e.pending;
        this.nodes.set(e.node, line);
        break;
      }
      case 'soak':
        this.soakUntil = e.untilMs;
        break;
      case 'window-wait':
        this.windowUntil = e.untilMs;
        break;
      case 'gate-evaluated':
        this.gates.set(e.evaluation.gate, e.evaluation);
        break;
      default:
        break;
    }
  }

  /** Estimated time left: the plan's estimates of every step not finished yet. */
  remainingMs(): number {
    let seconds = 0;
    for (const [id, { step }] of this.steps) if (!this.finished.has(id)) seconds += step.estimateSeconds;
    return seconds * 1000;
  }
}

function blockerText(b: PodBlock): string {
  return b.budget ? `${b.pod} (budget ${b.budget})` : `${b.pod}: ${b.reason}`;
}

/** `storefront-errors failure: 0.0412 (baseline 0.001)` */
export function gateText(e: GateEvaluation): string {
  const value = e.value === undefined ? 'no value' : formatMeasurement(e.value);
  const baseline = e.baseline === undefined ? '' : ` (baseline ${formatMeasurement(e.baseline)})`;
  return `${e.gate} ${e.verdict}: ${value}${baseline}${e.error ? ` — ${e.error}` : ''}`;
}

function blockersText(blocking: PodBlock[]): string {
  const shown = blocking.slice(0, MAX_BLOCKERS_SHOWN).map(blockerText).join(', ');
  const more =
    blocking.length > MAX_BLOCKERS_SHOWN ? ` and ${blocking.length - MAX_BLOCKERS_SHOWN} more` : '';
  return shown + more;
}

/** One line of text per event that matters to a reader, in the style of a CI log. */
export function lineFor(e: RunEvent, progress: RunProgress): string | undefined {
  const plan = progress.plan;
  switch (e.type) {
    case 'run-started':
      return undefined; // the engine's own log line says it, with the holder
    case 'phase-started':
      return `phase ${e.phase + 1}/${plan.phases.length}: ${e.name}`;
    case 'phase-finished':
      return `phase ${e.phase + 1}/${plan.phases.length} done in ${formatDuration(e.durationMs)}: ${e.name}`;
    case 'step-started':
      return `  step ${e.title}${e.nodes.length > 0 ? ` [${e.nodes.join(', ')}]` : ''}`;
    case 'step-finished':
      return e.status === 'done' ? undefined : `  step ${e.stepId}: ${e.status}`;
    case 'node-changed': {
      // The past-tense milestones (cordoned, drained…) repeat what the next intent says.
      const what = e.activity ?? (e.message ? e.status : undefined);
      if (!what || PAST_MILESTONES.has(what)) return undefined;
      return `    ${e.node}: ${what}${e.message ? ` (${e.message})` : ''}`;
    }
    case 'eviction-progress':
      return e.blocking.length > 0
        ? `    ${e.node}: ${e.pending} pod(s) left to evict; blocked: ${blockersText(e.blocking)}`
        : undefined;
    case 'soak':
      return `  soaking until ${new Date(e.untilMs).toISOString()}`;
    case 'window-wait':
      return undefined; // the engine's log line says it
    case 'gate-evaluated':
      return `  gate ${gateText(e.evaluation)}`;
    case 'warning':
      return `warning: ${e.message}`;
    case 'log':
      return e.level === 'error' ? `error: ${e.message}` : e.level === 'info' ? `  ${e.message}` : undefined;
    case 'run-finished':
      return undefined;
  }
}

class LinesView implements RunView {
  private readonly progress: RunProgress;
  /** Eviction progress repeats every poll; print a node's blockers only when they change. */
  private readonly lastBlockers = new Map<string, string>();
  /** A gate is evaluated every interval; print it when its verdict changes. */
  private readonly lastVerdicts = new Map<string, string>();

  constructor(
    plan: Plan,
    private readonly out: NodeJS.WriteStream,
  ) {
    this.progress = new RunProgress(plan);
  }

  onEvent(e: RunEvent): void {
    this.progress.apply(e);
    if (e.type === 'eviction-progress') {
      const key = e.blocking.map(blockerText).join(',');
      if (this.lastBlockers.get(e.node) === key) return;
      this.lastBlockers.set(e.node, key);
    }
    if (e.type === 'gate-evaluated') {
      if (this.lastVerdicts.get(e.evaluation.gate) === e.evaluation.verdict) return;
      this.lastVerdicts.set(e.evaluation.gate, e.evaluation.verdict);
    }
    const line = lineFor(e, this.progress);
    if (line !== undefined) this.out.write(`${line}\n`);
  }

  note(message: string): void {
    this.out.write(`${message}\n`);
  }

  close(): void {}
}

type PhaseStatus = 'pending' | 'running' | 'done' | 'failed' | 'stopped';

const STATUS_MARK: Record<PhaseStatus, string> = {
  done: '✓',
  running: '▸',
  pending: ' ',
  failed: '✗',
  stopped: '■',
};

/** What a phase still running becomes when the run ends in `state` (paused and aborted runs stopped it). */
function endedStatus(state: string): PhaseStatus {
  if (state === 'succeeded') return 'done';
  if (state === 'failed') return 'failed';
  return 'stopped';
}

class LiveView implements RunView {
  private readonly progress: RunProgress;
  private readonly phaseStatus: PhaseStatus[];
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private closed = false;

  constructor(
    plan: Plan,
    private readonly clock: Clock,
    private readonly out: NodeJS.WriteStream,
  ) {
    this.progress = new RunProgress(plan);
    this.phaseStatus = plan.phases.map((): PhaseStatus => 'pending');
    // Note: a real timer, not the clock's: redrawing is about the screen, whatever time the run keeps.
    this.timer = setInterval(() => this.redraw(), 200);
    this.timer.unref();
  }

  onEvent(e: RunEvent): void {
    this.progress.apply(e);
    if (e.type === 'phase-started') this.phaseStatus[e.phase] = 'running';
    if (e.type === 'phase-finished') this.phaseStatus[e.phase] = 'done';
    if (e.type === 'run-finished') this.endRunningPhases(endedStatus(e.state));
    // Lines that should stay in the scroll-back: warnings, errors and phase boundaries.
    if (
      e.type === 'warning' ||
      (e.type === 'log' && e.level === 'error') ||
      e.type === 'phase-finished' ||
      (e.type === 'step-finished' && e.status !== 'done')
    )
      this.above(lineFor(e, this.progress)!);
    this.dirty = true;
    if (e.type === 'run-finished') this.redraw();
  }

  note(message: string): void {
    this.above(message);
  }

  close(): void {
    if (this.closed) return;
    // IMPORTANT: the last frame stays on the screen after the process exits; a phase left marked running
    // (the run was interrupted, or failed before it could finish) would claim work is still going on.
    this.endRunningPhases('stopped');
    this.redraw();
    this.closed = true;
    clearInterval(this.timer);
  }

  private endRunningPhases(status: PhaseStatus): void {
    this.phaseStatus.forEach((s, i) => {
      if (s === 'running') {
        this.phaseStatus[i] = status;
        this.dirty = true;
      }
    });
  }

  private above(line: string): void {
    this.erase();
    this.out.write(`${line}\n`);
    this.dirty = true;
    this.redraw();
  }

  private erase(): void {
    if (this.drawnLines > 0) this.out.write(`\x1b[${this.drawnLines}F\x1b[J`);
    this.drawnLines = 0;
  }

  private redraw(): void {
    const counting = this.progress.soakUntil !== undefined || this.progress.windowUntil !== undefined;
    if (this.closed || (!this.dirty && this.drawnLines > 0 && !counting)) return;
    this.dirty = false;
    const width = Math.max(40, (this.out.columns || 100) - 1);
    const lines = this.frame().map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
    this.erase();
    this.out.write(`${lines.join('\n')}\n`);
    this.drawnLines = lines.length;
  }

  private frame(): string[] {
    const p = this.progress;
    const now = this.clock.now();
    const elapsed = p.startedAt !== undefined ? now - p.startedAt : 0;
    const lines = [
      `${p.plan.source} → ${p.plan.target}   elapsed ${formatDuration(elapsed)}   ~${formatDuration(p.remainingMs())} left (estimate)`,
    ];
    if (p.windowUntil !== undefined && p.windowUntil > now)
      lines.push(
        `   waiting for the maintenance window: opens in ${formatDuration(p.windowUntil - now)} (${new Date(p.windowUntil).toISOString()})`,
      );
    p.plan.phases.forEach((phase, i) => {
      const status = this.phaseStatus[i]!;
      lines.push(` ${STATUS_MARK[status]} ${phase.name}${status === 'stopped' ? ' (stopped here)' : ''}`);
      if (i !== p.currentPhase || status !== 'running' || !p.currentStep) return;
      const done = phase.steps.filter((s) => p.finished.has(s.id)).length;
      lines.push(
        `     ${p.currentStep.title} (step ${Math.min(done + 1, phase.steps.length)}/${phase.steps.length})`,
      );
      if (p.soakUntil !== undefined && p.soakUntil > now)
        lines.push(`     soaking, ${formatDuration(p.soakUntil - now)} left`);
      for (const n of [...p.nodes.values()].slice(0, 12)) {
        const pending = n.pending ? `, ${n.pending} pod(s) left` : '';
        lines.push(`       ${n.node.padEnd(24)} ${n.activity}${pending}`);
        if (n.blocking.length > 0) lines.push(`         blocked: ${blockersText(n.blocking)}`);
      }
      if (p.nodes.size > 12) lines.push(`       … and ${p.nodes.size - 12} more nodes`);
    });
    if (p.gates.size > 0) {
      lines.push(' health gates:');
      for (const e of p.gates.values())
        lines.push(`   ${e.verdict === 'success' ? '✓' : '✗'} ${gateText(e)}`);
    }
    return lines;
  }
}
