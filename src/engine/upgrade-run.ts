/**
 * Executes a Plan as a durable state machine. Every transition is written to the store before its side
 * effect and after it; a run killed at any instant resumes from the store and the cluster's own state.
 *
 *   startRun(deps, plan)     checks the plan against the cluster, takes the Lease, creates the run, executes
 *   resumeRun(deps, runId)   takes the Lease again and continues where the store says the run stopped
 *
 * Order: phases in plan order; control-plane members strictly one at a time; a canary or wave's nodes as a
 * flow, up to the pool's limit in flight, each next one admitted from the live budgets (node-flow.ts);
 * after each wave its gate and its soak. Pools the policy lets flow together (poolConcurrency) run side by
 * side under the run-wide cap (pool-group.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Plan, PlanPhase, PlanStep } from '../plan/index.ts';
import { RESUMABLE_STATES } from '../store/index.ts';
import { upgradeAddons } from './addons.ts';
import { preflightStep, snapshotOf, validationStep } from './cluster-steps.ts';
import { RunStateError } from './errors.ts';
import { backupStep } from './etcd-backup-step.ts';
import { etcdMemberStep, etcdRollOrder } from './etcd-members.ts';
import { startGates } from './gate-checks.ts';
import { hooksOf, runHook } from './hooks.ts';
import { leftBehind, leftBehindReason, releaseReopenedQuarantine, reopenLeftBehind } from './left-behind.ts';
import { refuseInsideExclusion, waitForWindow } from './maintenance-window.ts';
import { controlPlaneStep, retrySkipped, waveStep } from './node-wave-steps.ts';
import { checkPlanCluster, checkPlanIntegrity, checkPlanVersions, planHashOf } from './plan-check.ts';
import { flowGroupAt, runTogether } from './pool-group.ts';
import { planRollback, rollbackWork } from './rollback.ts';
import {
  type EngineDeps,
  type ReadSnapshot,
  type RunContext,
  type RunOptions,
  StopSignal,
} from './run-context.ts';
import type { RunSummary } from './run-events.ts';
import { executeUnderLease, takeLease, type WorkOutcome } from './run-execution.ts';

/** `run-20260101-120000-ab12`: sortable, readable, unique enough for one store. */
export function newRunId(now: number): string {
  const t = new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `run-${t}-${randomBytes(2).toString('hex')}`;
}

/**
 * Checks `plan` (parsed JSON/YAML, not trusted) against the cluster without changing anything: the shape,
 * the id, the cluster, the versions. Throws PlanRejectedError with the reason.
 */
export async function verifyPlan(deps: Pick<EngineDeps, 'kc' | 'clock'>, plan: unknown): Promise<Plan> {
  return (await verifiedPlan(deps, plan)).plan;
}

/** verifyPlan, and the cluster as it read it (a new run's preflight step may use it: RunContext.takeStartSnapshot). */
async function verifiedPlan(
  deps: Pick<EngineDeps, 'kc' | 'clock'>,
  plan: unknown,
): Promise<{ plan: Plan; snapshot: ReadSnapshot }> {
  const checked = checkPlanIntegrity(plan);
  hooksOf(checked.policy.hooks);
  const snapshot = await snapshotOf(deps);
  checkPlanCluster(checked, snapshot);
  checkPlanVersions(checked, snapshot);
  return { plan: checked, snapshot: { snapshot, readAt: deps.clock.now() } };
}

/** Checks the plan, takes the cluster's Lease, records a new run and executes it. */
export async function startRun(
  deps: EngineDeps,
  plan: unknown,
  options: RunOptions = {},
): Promise<RunSummary> {
  const { plan: checked, snapshot } = await verifiedPlan(deps, plan);
  refuseInsideExclusion(checked.policy, deps.clock.now(), 'refusing to start the run');
  const runId = newRunId(deps.clock.now());
  const lease = await takeLease(deps, runId, options, (holder) =>
    deps.store.createRun({
      id: runId,
      planJson: JSON.stringify(checked),
      planId: checked.id,
      planHash: planHashOf(checked),
      clusterFingerprint: checked.cluster.fingerprint,
      clusterServer: checked.cluster.server,
      source: checked.source,
      target: checked.target,
      holder,
    }),
  );
  return executeUnderLease(deps, runId, lease, options, { resumed: false, work: upgradeWork, snapshot });
}

/**
 * Continues a paused, failed, incomplete or interrupted run from where the store says it stopped, in the
 * run's mode: an interrupted rollback goes on rolling back, it never turns into the upgrade again.
 */
export async function resumeRun(
  deps: EngineDeps,
  runId: string,
  options: RunOptions = {},
): Promise<RunSummary> {
  const run = deps.store.mustGetRun(runId);
  if (!RESUMABLE_STATES.includes(run.state))
    throw new RunStateError(runId, run.state, `run ${runId} is ${run.state}: there is nothing to resume`);
  const plan = checkPlanIntegrity(JSON.parse(run.planJson));
  // An abort carried out by resuming only puts nodes back as they were: a freeze does not hold it.
  if (run.mode === 'upgrade' && run.requestedAction !== 'abort')
    refuseInsideExclusion(plan.policy, deps.clock.now(), `refusing to resume run ${runId}`);
  checkPlanCluster(plan, await snapshotOf(deps));
  const lease = await takeLease(deps, runId, options, () => {
    if (run.requestedAction === 'pause') deps.store.requestAction(runId, null);
    // The nodes an incomplete run left behind get another try: their steps and phases run again.
    if (run.state === 'incomplete') reopenLeftBehind(deps.store, runId, plan);
  });
  const work = run.mode === 'rollback' ? rollbackWork : upgradeWork;
  return executeUnderLease(deps, runId, lease, options, { resumed: true, work });
}

/**
 * The upgrade: the plan's phases in order; nodes set aside on the way make the run incomplete. A health gate
 * that says rollback turns it into the rollback of that step's nodes once those in flight have finished.
 */
async function upgradeWork(ctx: RunContext): Promise<WorkOutcome> {
  startGates(ctx);
  await releaseReopenedQuarantine(ctx);
  try {
    const { phases } = ctx.plan;
    for (let i = 0; i < phases.length; ) {
      const group = flowGroupAt(phases, i);
      if (group.length > 1) await runTogether(ctx, group, (j) => runPhase(ctx, j, phases[j]!));
      else await runPhase(ctx, i, phases[i]!);
      i += group.length;
    }
  } catch (err) {
    const rollback = ctx.gateRollback;
    // Only the gate's own stop turns into its rollback: a Ctrl-C, abort or crash since then wins.
    if (err instanceof StopSignal && rollback && ctx.stop?.reason === rollback.stopReason)
      return rollBackForGate(ctx, rollback);
    throw err;
  }
  const left = leftBehind(ctx.store, ctx.runId);
  if (left.length === 0) return { state: 'succeeded' };
  return { state: 'incomplete', reason: leftBehindReason(ctx.runId, left) };
}

/**
 * A gate said rollback: the run switches to rollback mode scoped to the gate's step (recorded first, so a
 * resume after a crash goes on returning the same nodes) and returns that step's upgraded nodes through the
 * rollback's own path (rollback.ts). Nodes of earlier steps stay at the target; the reason says so.
 */
async function rollBackForGate(
  ctx: RunContext,
  gate: NonNullable<RunContext['gateRollback']>,
): Promise<WorkOutcome> {
  const scoped = planRollback(ctx.deps, ctx.runId, { steps: [gate.stepId] });
  // A blue-green pool not deleted yet goes back whole (blue uncordoned, green removed).
  const wave = [...scoped.nodes.map((n) => n.node), ...scoped.blueGreen.map((p) => p.green)];
  const kept = planRollback(ctx.deps, ctx.runId, { steps: 'all' })
    .nodes.map((n) => n.node)
    .filter((node) => !wave.includes(node));
  const again = `\`midflight rollback ${ctx.runId}\``;
  if (wave.length === 0)
    // Nothing of the step is upgraded yet (the gate said so before its first node): whatever moved the gate,
    // it is not this step's doing, and rolling back more than the step is the user's call.
    throw new StopSignal(
      'pause',
      `${gate.stopReason}; ${gate.stepId} has no upgraded node to roll back: paused${kept.length > 0 ? ` (${again} returns ${kept.join(', ')}, upgraded by earlier steps)` : ''}`,
    );
  ctx.store.setRunMode(ctx.runId, 'rollback', [gate.stepId]);
  // Note: the gate's stop was a pause of the admissions; the rollback must run.
  ctx.stop = undefined;
  const outcome = await rollbackWork(ctx);
  const keptNote =
    kept.length > 0
      ? `; left at ${ctx.plan.target} (upgraded by earlier steps): ${kept.join(', ')}; ${again} returns them too`
      : '';
  return { state: outcome.state, reason: `${gate.stopReason}; ${gate.stepId}: ${outcome.reason}${keptNote}` };
}

async function runPhase(ctx: RunContext, index: number, phase: PlanPhase): Promise<void> {
  let row = ctx.phaseRow(index);
  if (row?.status === 'done' || row?.status === 'skipped') return;
  ctx.checkpoint('step');
  await waitForWindow(ctx);
  const started = row?.startedAt ?? ctx.clock.now();
  row = ctx.putPhaseRow(index, { status: 'running', startedAt: started, finishedAt: undefined });
  ctx.emit({ type: 'phase-started', phase: index, kind: phase.kind, name: phase.name });
  try {
    if (!row.detail.preHookDone) {
      await phaseHook(ctx, 'pre', phase);
      ctx.putPhaseRow(index, { detail: { preHookDone: true } });
    }
    // Note: etcd members go followers first, the leader last, as etcd says when the phase (re)starts.
    const steps = phase.kind === 'etcd' ? await etcdRollOrder(ctx, phase.steps) : phase.steps;
    for (const step of steps) await runStep(ctx, index, step);
    if (phase.kind === 'canary' || phase.kind === 'node-pool') await retrySkipped(ctx, phase);
    await phaseHook(ctx, 'post', phase);
  } catch (err) {
    if (!(err instanceof StopSignal))
      ctx.putPhaseRow(index, { status: 'failed', finishedAt: ctx.clock.now() });
    throw err;
  }
  const allSkipped =
    phase.steps.length > 0 && phase.steps.every((s) => ctx.stepRow(s.id)?.status === 'skipped');
  ctx.putPhaseRow(index, { status: allSkipped ? 'skipped' : 'done', finishedAt: ctx.clock.now() });
  ctx.emit({
    type: 'phase-finished',
    phase: index,
    kind: phase.kind,
    name: phase.name,
    durationMs: ctx.clock.now() - started,
  });
}

async function phaseHook(ctx: RunContext, when: 'pre' | 'post', phase: PlanPhase): Promise<void> {
  for (const key of [phase.kind, 'all']) {
    const command = ctx.hooks[when][key];
    if (!command) continue;
    // A hook may change the cluster: what the run read of it before is no longer what it is.
    ctx.startSnapshot = undefined;
    await runHook(
      command,
      {
        name: `${when}.${key}`,
        phase: phase.kind,
        runId: ctx.runId,
        target: ctx.plan.target,
        kubeconfigPath: ctx.deps.kubeconfigPath,
        outputFile: ctx.outputFile(`hook-${when}.${key}`),
        signal: ctx.fatal.signal,
        log: (line) => ctx.log('info', line),
      },
      ctx.hooks.timeoutMs,
    );
  }
}

async function runStep(ctx: RunContext, phaseIndex: number, step: PlanStep): Promise<void> {
  // Note: the first step takes it (a run's first is its preflight), whatever it is: it is no use later.
  const startSnapshot = ctx.takeStartSnapshot();
  let row = ctx.stepRow(step.id);
  if (row?.status === 'done' || row?.status === 'skipped') return;
  ctx.checkpoint('step');
  const started = row?.startedAt ?? ctx.clock.now();
  row = ctx.putStepRow(step.id, {
    status: 'running',
    intent: 'run',
    startedAt: started,
    finishedAt: undefined,
  });
  ctx.emit({
    type: 'step-started',
    phase: phaseIndex,
    stepId: step.id,
    kind: step.kind,
    title: step.title,
    nodes: step.nodes,
  });
  let status: 'done' | 'skipped' = 'done';
  try {
    switch (step.kind) {
      case 'preflight':
        await preflightStep(ctx, step, startSnapshot);
        break;
      case 'etcd-backup':
        status = await backupStep(ctx, step);
        break;
      case 'etcd-member':
        await etcdMemberStep(ctx, step);
        break;
      case 'control-plane':
        await controlPlaneStep(ctx, step);
        break;
      case 'canary':
      case 'node-wave':
        await waveStep(ctx, step);
        break;
      case 'addons':
        await upgradeAddons(ctx, step);
        break;
      case 'validation':
        await validationStep(ctx, step);
        break;
    }
  } catch (err) {
    if (!(err instanceof StopSignal))
      ctx.putStepRow(step.id, {
        status: 'failed',
        intent: undefined,
        finishedAt: ctx.clock.now(),
        detail: { reason: err instanceof Error ? err.message : String(err) },
      });
    throw err;
  }
  ctx.putStepRow(step.id, {
    status,
    intent: undefined,
    finishedAt: ctx.clock.now(),
    detail: { reason: undefined },
  });
  ctx.emit({ type: 'step-finished', stepId: step.id, status, durationMs: ctx.clock.now() - started });
}
