/**
 * The run's health gates (src/gates' GateMonitor) at the points where the engine asks them: their baselines
 * before the first node is touched, a check before each node a wave admits, and checks all through a wave's
 * end and soak. Every evaluation is stored with the run, announced (`gate-evaluated`) and logged.
 *
 * A gate says continue, pause or rollback. Pause and rollback both stop admitting at once and let the nodes
 * in flight finish (a pause's discipline); the run then ends `paused` with the gate's reason, or rolls the
 * step's upgraded nodes back (upgrade-run.ts). Fail closed: gates that cannot be evaluated at all (the
 * monitor throws) pause the run; they never let it go on.
 */
import { join } from 'node:path';
import { formatMeasurement } from '../core/index.ts';
import type { GateDecision, GateEvaluation } from '../gates/gate-types.ts';
import { runOutputDir } from '../store/index.ts';
import { type RunContext, StopSignal } from './run-context.ts';

/** Builds the upgrade's gates from the plan's policy, when the caller gave a factory. */
export function startGates(ctx: RunContext): void {
  const factory = ctx.deps.gates;
  if (!factory) return;
  ctx.gates = factory(ctx.plan.policy.gates, {
    clock: ctx.clock,
    kc: ctx.kc,
    runId: ctx.runId,
    // Note: beside the run's other command output (store/state-dir.ts), so a command gate's is kept with it.
    workDir: join(runOutputDir(ctx.store.path, ctx.runId), 'gates'),
    nodesInFlight: () => [...ctx.nodesInFlight],
    nodesLeftFlight: () => ctx.nodesLeftFlight,
    onEvaluation: (e) => recordEvaluation(ctx, e),
  });
}

function recordEvaluation(ctx: RunContext, e: GateEvaluation): void {
  ctx.store.recordGateEvaluation(ctx.runId, e);
  ctx.emit({ type: 'gate-evaluated', evaluation: e });
  const value = e.value === undefined ? 'no value' : `value ${formatMeasurement(e.value)}`;
  const baseline = e.baseline === undefined ? '' : `, baseline ${formatMeasurement(e.baseline)}`;
  const error = e.error ? `: ${e.error}` : '';
  // Note: a passing gate is evaluated every interval; only what is not a pass belongs in the run's story.
  ctx.store.appendLog(ctx.runId, {
    level: e.verdict === 'success' ? 'debug' : 'info',
    message: `gate ${e.gate}: ${e.verdict} (${value}${baseline})${error}`,
    data: { ...e },
  });
}

/**
 * Records each gate's baseline once per run, before the first node is touched; a resumed run passes the
 * stored ones back, so that it compares with the same baselines. Gates that cannot take their baseline
 * pause the run (there is nothing to compare with).
 */
export async function recordGateBaselines(ctx: RunContext): Promise<void> {
  if (!ctx.gates || ctx.gatesBaselined) return;
  const known = ctx.store.gateBaselines(ctx.runId);
  let measured: Record<string, number>;
  try {
    measured = await ctx.gates.baseline(known);
  } catch (err) {
    const reason = `health gates: cannot record their baselines: ${messageOf(err)}`;
    ctx.log('warn', `${reason}: pausing`);
    ctx.requestStop('pause', reason);
    ctx.checkpoint('step');
    return;
  }
  const fresh = Object.fromEntries(
    Object.entries(measured).filter(([gate, v]) => !(gate in known) && Number.isFinite(v)),
  );
  if (Object.keys(fresh).length > 0) {
    ctx.store.putGateBaselines(ctx.runId, fresh);
    ctx.log(
      'info',
      `gate baselines recorded before the first node: ${Object.entries(fresh)
        .map(([g, v]) => `${g}=${formatMeasurement(v)}`)
        .join(', ')}`,
    );
  } else if (Object.keys(known).length > 0)
    ctx.log('info', `gate baselines as recorded at the run's start: ${Object.keys(known).join(', ')}`);
  ctx.gatesBaselined = true;
}

/**
 * Asks the gates whether the run may go on (before admitting a node of `stepId`, during its soak). False
 * when the run is stopping, for the gates' reason or another. Throws only what the store cannot record.
 */
export async function gatesAllow(ctx: RunContext, stepId: string): Promise<boolean> {
  if (ctx.stop) return false;
  if (!ctx.gates) return true;
  // Note: a run resumed in a wave's soak has touched no node in this execution yet: the gates still need
  // their (stored) baselines before they can judge anything.
  if (!ctx.gatesBaselined) {
    try {
      await recordGateBaselines(ctx);
    } catch (err) {
      // Its StopSignal (no baseline: the run pauses) is said by returning false; anything else is a crash.
      if (!(err instanceof StopSignal)) throw err;
      return false;
    }
  }
  let decision: Exclude<GateDecision, { action: 'continue' }>;
  let stopReason: string;
  try {
    const said = await ctx.gates.check();
    if (said.action === 'continue') return !ctx.stop;
    // Note: a gate's reason may name the gate already ("gate M5: …"): it is said once.
    const named = `gate ${said.gate}: `;
    const reason = said.reason.startsWith(named) ? said.reason.slice(named.length) : said.reason;
    decision = { ...said, reason };
    stopReason = `health gate ${said.gate}: ${reason}`;
  } catch (err) {
    // Fail closed: gates that cannot say anything are not a pass.
    decision = { action: 'pause', gate: '*', reason: messageOf(err) };
    stopReason = `health gates cannot be evaluated: ${messageOf(err)}`;
  }
  if (decision.action === 'rollback' && !ctx.stop)
    ctx.gateRollback = { stepId, gate: decision.gate, reason: decision.reason, stopReason };
  ctx.log(
    'warn',
    `${stopReason}: ${decision.action === 'rollback' ? `rolling back the nodes of ${stepId}` : 'pausing'} once the nodes in flight finish`,
    { stepId },
  );
  ctx.requestStop('pause', stopReason);
  return false;
}

/** Waits until `untilMs` (a wave's soak), asking the gates all along; throws StopSignal when they stop it. */
export async function soakUnderGates(ctx: RunContext, stepId: string, untilMs: number): Promise<void> {
  for (;;) {
    await gatesAllow(ctx, stepId);
    ctx.checkpoint('step');
    const left = untilMs - ctx.clock.now();
    if (left <= 0) return;
    await ctx.clock.sleep(Math.min(left, ctx.options.controlPollMs));
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
