/**
 * Executes a Plan as a durable state machine. Every transition is written to the store before its side
 * effect and after it; a run killed at any instant resumes from the store and the cluster's own state.
 *
 *   startRun(deps, plan)     checks the plan against the cluster, takes the Lease, creates the run, executes
 *   resumeRun(deps, runId)   takes the Lease again and continues where the store says the run stopped
 *
 * Order: phases in plan order; control-plane members strictly one at a time; a canary or batch's nodes in
 * parallel (the planner sized the batch to the pool's limits); after each batch the gate and its soak.
 */
import { randomBytes } from 'node:crypto';
import { compareVersions, parseVersion } from '../core/index.ts';
import { readSnapshot } from '../kube/index.ts';
import type { ControlPlaneStep, NodeBatchStep, Plan, PlanPhase, PlanStep } from '../plan/index.ts';
import { isNodeBatch } from '../plan/index.ts';
import { runPreflight, subjectText } from '../preflight/index.ts';
import { RESUMABLE_STATES } from '../store/index.ts';
import { upgradeAddons } from './addons.ts';
import { gateBatch, unavailableDeployments } from './batch-gate.ts';
import { RunStateError, StepFailedError } from './errors.ts';
import { hooksOf, runHook } from './hooks.ts';
import { leftBehind, leftBehindReason, releaseReopenedQuarantine, reopenLeftBehind } from './left-behind.ts';
import { type NodeResult, upgradeControlPlaneMember, upgradeWorkerNode } from './node-steps.ts';
import { checkPlanCluster, checkPlanIntegrity, checkPlanVersions, planHashOf } from './plan-check.ts';
import { rollbackWork } from './rollback.ts';
import { ANNOTATIONS, type EngineDeps, type RunContext, type RunOptions, StopSignal } from './run-context.ts';
import type { RunSummary } from './run-events.ts';
import { executeUnderLease, takeLease, type WorkOutcome } from './run-execution.ts';
import { phaseRowId } from './run-summary.ts';

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
  const checked = checkPlanIntegrity(plan);
  hooksOf(checked.policy.hooks);
  const snapshot = await snapshotOf(deps);
  checkPlanCluster(checked, snapshot);
  checkPlanVersions(checked, snapshot);
  return checked;
}

/** Checks the plan, takes the cluster's Lease, records a new run and executes it. */
export async function startRun(
  deps: EngineDeps,
  plan: unknown,
  options: RunOptions = {},
): Promise<RunSummary> {
  const checked = await verifyPlan(deps, plan);
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
  return executeUnderLease(deps, runId, lease, options, { resumed: false, work: upgradeWork });
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
  checkPlanCluster(plan, await snapshotOf(deps));
  const lease = await takeLease(deps, runId, options, () => {
    if (run.requestedAction === 'pause') deps.store.requestAction(runId, null);
    // The nodes an incomplete run left behind get another try: their steps and phases run again.
    if (run.state === 'incomplete') reopenLeftBehind(deps.store, runId, plan);
  });
  const work = run.mode === 'rollback' ? rollbackWork : upgradeWork;
  return executeUnderLease(deps, runId, lease, options, { resumed: true, work });
}

/** Note: more attempts than the reader's default: a run must ride out a flaky API server. */
function snapshotOf(deps: Pick<EngineDeps, 'kc' | 'clock'>) {
  return readSnapshot(deps.kc, { clock: deps.clock, attempts: 8 });
}

/** The upgrade: the plan's phases in order; nodes set aside on the way make the run incomplete. */
async function upgradeWork(ctx: RunContext): Promise<WorkOutcome> {
  await releaseReopenedQuarantine(ctx);
  for (let i = 0; i < ctx.plan.phases.length; i++) await runPhase(ctx, i, ctx.plan.phases[i]!);
  const left = leftBehind(ctx.store, ctx.runId);
  if (left.length === 0) return { state: 'succeeded' };
  return { state: 'incomplete', reason: leftBehindReason(ctx.runId, left) };
}

async function runPhase(ctx: RunContext, index: number, phase: PlanPhase): Promise<void> {
  const rowId = phaseRowId(index);
  let row = ctx.row(rowId);
  if (row?.status === 'done' || row?.status === 'skipped') return;
  ctx.checkpoint('batch');
  const started = row?.startedAt ?? ctx.clock.now();
  row = ctx.put(rowId, '', { status: 'running', startedAt: started, finishedAt: undefined });
  ctx.emit({ type: 'phase-started', phase: index, kind: phase.kind, name: phase.name });
  try {
    if (!row.detail.preHookDone) {
      await phaseHook(ctx, 'pre', phase);
      ctx.put(rowId, '', { detail: { preHookDone: true } });
    }
    for (const step of phase.steps) await runStep(ctx, index, step);
    if (phase.kind === 'canary' || phase.kind === 'node-pool') await retrySkipped(ctx, phase);
    await phaseHook(ctx, 'post', phase);
  } catch (err) {
    if (!(err instanceof StopSignal)) ctx.put(rowId, '', { status: 'failed', finishedAt: ctx.clock.now() });
    throw err;
  }
  const allSkipped = phase.steps.length > 0 && phase.steps.every((s) => ctx.row(s.id)?.status === 'skipped');
  ctx.put(rowId, '', { status: allSkipped ? 'skipped' : 'done', finishedAt: ctx.clock.now() });
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
  let row = ctx.row(step.id);
  if (row?.status === 'done' || row?.status === 'skipped') return;
  ctx.checkpoint('batch');
  const started = row?.startedAt ?? ctx.clock.now();
  row = ctx.put(step.id, '', { status: 'running', intent: 'run', startedAt: started, finishedAt: undefined });
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
        await preflightStep(ctx, step);
        break;
      case 'etcd-backup':
        status = await backupStep(ctx, step);
        break;
      case 'control-plane':
        await controlPlaneStep(ctx, step);
        break;
      case 'canary':
      case 'node-batch':
        await batchStep(ctx, step);
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
      ctx.put(step.id, '', {
        status: 'failed',
        intent: undefined,
        finishedAt: ctx.clock.now(),
        detail: { reason: err instanceof Error ? err.message : String(err) },
      });
    throw err;
  }
  ctx.put(step.id, '', {
    status,
    intent: undefined,
    finishedAt: ctx.clock.now(),
    detail: { reason: undefined },
  });
  ctx.emit({ type: 'step-finished', stepId: step.id, status, durationMs: ctx.clock.now() - started });
}

async function preflightStep(ctx: RunContext, step: PlanStep): Promise<void> {
  const snapshot = await snapshotOf(ctx.deps);
  checkPlanCluster(ctx.plan, snapshot);
  const report = runPreflight(snapshot, parseVersion(ctx.plan.target), ctx.plan.policy, ctx.clock.now());
  for (const f of report.findings.filter((x) => x.severity === 'warning').slice(0, 20))
    ctx.log('warn', `preflight: ${subjectText(f.subject)}: ${f.message}`, { stepId: step.id });
  const blockers = report.findings.filter((f) => f.severity === 'blocker');
  if (blockers.length > 0)
    throw new StepFailedError(
      step.id,
      undefined,
      `preflight found ${blockers.length} blocker(s): ${blockers
        .slice(0, 5)
        .map((b) => `${b.id}: ${subjectText(b.subject)}: ${b.message}`)
        .join('; ')}`,
      false,
    );
}

async function backupStep(ctx: RunContext, step: PlanStep): Promise<'done' | 'skipped'> {
  if (!ctx.hooks.backup) {
    ctx.log('warn', 'etcd backup skipped: no backup configured (set hooks.backup in the policy)', {
      stepId: step.id,
    });
    return 'skipped';
  }
  await runHook(
    ctx.hooks.backup,
    {
      name: 'backup',
      phase: 'etcd-backup',
      runId: ctx.runId,
      target: ctx.plan.target,
      kubeconfigPath: ctx.deps.kubeconfigPath,
      outputFile: ctx.outputFile('hook-backup'),
      signal: ctx.fatal.signal,
      log: (line) => ctx.log('info', line, { stepId: step.id }),
    },
    ctx.hooks.timeoutMs,
  );
  return 'done';
}

async function controlPlaneStep(ctx: RunContext, step: ControlPlaneStep): Promise<void> {
  if (step.nodes.length === 0) {
    // A managed control plane: its provider upgrades it; the run only checks that it happened.
    const version = await ctx.cluster.serverVersion();
    if (compareVersions(parseVersion(version), parseVersion(step.version)) < 0)
      throw new StepFailedError(
        step.id,
        undefined,
        `the managed control plane reports ${version}, not ${step.version}: upgrade it with your provider, then resume`,
        true,
      );
    return;
  }
  for (const node of step.nodes) {
    ctx.checkpoint('sub-step');
    await upgradeControlPlaneMember(ctx, step, node);
  }
}

/** A canary or batch: its nodes in parallel, then the gate, then the soak. */
async function batchStep(ctx: RunContext, step: NodeBatchStep): Promise<void> {
  let row = ctx.row(step.id)!;
  if (!row.detail.nodesDone) {
    // Note: read before the drains, so only what the batch itself made unavailable can fail its gate.
    const baseline = await unavailableDeployments(ctx);
    const results = await runNodes(ctx, step, step.nodes, false);
    const namespaces = [...new Set(results.flatMap((r) => r.namespaces))];
    row = ctx.put(step.id, '', { detail: { nodesDone: true, namespaces } });
    const upgraded = results.filter((r) => r.status === 'done').map((r) => r.node);
    if (upgraded.length > 0) await gateBatch(ctx, step, upgraded, namespaces, baseline);
  }
  if (step.soakSeconds && step.soakSeconds > 0) {
    const until = (row.detail.soakUntil as number | undefined) ?? ctx.clock.now() + step.soakSeconds * 1000;
    if (row.detail.soakUntil === undefined)
      ctx.put(step.id, '', { intent: 'soak', detail: { soakUntil: until } });
    ctx.emit({ type: 'soak', stepId: step.id, untilMs: until });
    await ctx.sleepUntil(until, 'batch');
  }
}

/**
 * Runs nodes in parallel; every node finishes its current sub-step before the batch stops, so a failure
 * or a stop request leaves each node in a recorded state. The first failure is rethrown afterwards.
 */
async function runNodes(
  ctx: RunContext,
  step: NodeBatchStep,
  nodes: string[],
  secondChance: boolean,
): Promise<NodeResult[]> {
  ctx.daemonSetCache = new Map();
  const settled = await Promise.allSettled(
    nodes.map(async (node) => {
      try {
        return await upgradeWorkerNode(ctx, step, node, secondChance);
      } catch (err) {
        if (!(err instanceof StopSignal) && !(err instanceof StepFailedError)) ctx.fail(err);
        throw err;
      }
    }),
  );
  if (ctx.fatalError !== undefined) throw ctx.fatalError;
  const failures = settled
    .filter((s): s is PromiseRejectedResult => s.status === 'rejected')
    .map((s) => s.reason);
  const failed = failures.find((f) => !(f instanceof StopSignal));
  if (failed) throw failed;
  if (failures.length > 0) throw failures[0];
  return settled.map((s) => (s as PromiseFulfilledResult<NodeResult>).value);
}

/** policy.drain.onTimeout: skip — the phase's skipped nodes get one more try, one at a time, at its end. */
async function retrySkipped(ctx: RunContext, phase: PlanPhase): Promise<void> {
  for (const step of phase.steps) {
    if (!isNodeBatch(step)) continue;
    for (const node of step.nodes) {
      const row = ctx.row(step.id, node);
      if (row?.status !== 'skipped' || row.detail.final) continue;
      ctx.checkpoint('batch');
      ctx.log('info', `retrying skipped node ${node}`, { stepId: step.id, node });
      const baseline = await unavailableDeployments(ctx);
      const [result] = await runNodes(ctx, step, [node], true);
      if (result?.status === 'done') await gateBatch(ctx, step, [node], result.namespaces, baseline);
    }
  }
}

async function validationStep(ctx: RunContext, step: PlanStep): Promise<void> {
  const problems: string[] = [];
  const rows = ctx.store.stepStates(ctx.runId).filter((r) => r.node !== '');
  const setAside = new Set(
    rows.filter((r) => r.status === 'skipped' || r.status === 'quarantined').map((r) => r.node),
  );
  const weCordoned = new Set(rows.filter((r) => r.wasAlreadyCordoned === false).map((r) => r.node));
  for (const node of await ctx.cluster.listNodes()) {
    if (setAside.has(node.name)) continue;
    if (node.kubeletVersion !== ctx.plan.target)
      problems.push(`node ${node.name} runs ${node.kubeletVersion}`);
    else if (!node.ready) problems.push(`node ${node.name} is not Ready`);
    if (node.unschedulable && weCordoned.has(node.name) && node.annotations[ANNOTATIONS.runId] === ctx.runId)
      problems.push(`node ${node.name} is still cordoned by this run`);
  }
  const version = await ctx.cluster.serverVersion();
  if (compareVersions(parseVersion(version), parseVersion(ctx.plan.target)) !== 0)
    problems.push(`/version reports ${version}, not ${ctx.plan.target}`);
  for (const node of setAside)
    ctx.log('warn', `node ${node} was set aside (skipped or quarantined) and is not at ${ctx.plan.target}`, {
      stepId: step.id,
      node,
    });
  if (problems.length > 0)
    throw new StepFailedError(
      step.id,
      undefined,
      `validation failed: ${problems.slice(0, 10).join('; ')}`,
      true,
    );
}
