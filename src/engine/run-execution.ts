/**
 * The one way a recorded run executes, whatever its mode (upgrade or rollback) and however it was started
 * (apply, resume, abort of a stopped run, rollback): under the cluster's Lease, marked `running` with its
 * holder, watching the store for pause/abort requests, honouring the caller's stop signal (Ctrl-C), and
 * settled at the end as succeeded / incomplete / rolled-back, paused, aborted or failed. The Lease is
 * released however it ends.
 */
import { hostname } from 'node:os';
import {
  acquireLease,
  leaseHolderIdentity,
  RUN_ID_ANNOTATION,
  uncordonNode,
  watchNodes,
} from '../kube/index.ts';
import type { Plan } from '../plan/index.ts';
import { isNodeRow, nodeStepEnded, type RunRecord, type RunState } from '../store/index.ts';
import { StepFailedError } from './errors.ts';
import { hooksOf } from './hooks.ts';
import { reached } from './node-steps.ts';
import { releasePendingTaints } from './pending-upgrade-taint.ts';
import {
  type EngineDeps,
  type ReadSnapshot,
  RunContext,
  type RunOptions,
  resolveRunOptions,
  StopSignal,
} from './run-context.ts';
import type { RunSummary } from './run-events.ts';
import { ROLLBACK_STEP, summarizeRun } from './run-summary.ts';

/** The cluster's Lease, held for one execution of a run. */
export interface RunLease {
  readonly holder: string;
  /** Calls `listener` when the lease is lost (at once if it already was). */
  whenLost(listener: (reason: string) => void): void;
  release(): Promise<void>;
}

/** How a run's work ended when nothing stopped it. */
export interface WorkOutcome {
  state: Extract<RunState, 'succeeded' | 'incomplete' | 'rolled-back'>;
  reason?: string;
}

/** The work of one mode: the phases of the plan, or the rollback of what they did. */
export type RunWork = (ctx: RunContext) => Promise<WorkOutcome>;

/**
 * Takes the cluster's Lease for `runId`, then makes `record`'s store writes (create the run, switch its
 * mode) while holding it; the Lease is given back if they fail.
 */
export async function takeLease(
  deps: EngineDeps,
  runId: string,
  options: RunOptions,
  record: (holder: string) => void = () => {},
): Promise<RunLease> {
  const holder = options.holder ?? leaseHolderIdentity(runId);
  const listeners: Array<(reason: string) => void> = [];
  let lostReason: string | undefined;
  const handle = await acquireLease(deps.kc, {
    holder,
    clock: deps.clock,
    leaseDurationSeconds: options.leaseDurationSeconds ?? 30,
    annotations: { [RUN_ID_ANNOTATION]: runId },
    onWaiting: (heldBy, upToMs) =>
      deps.onEvent?.({
        type: 'warning',
        runId,
        time: deps.clock.now(),
        message: `the cluster's lease is held by ${heldBy}: watching it for up to ${Math.ceil(upToMs / 1000)} s; a holder that renews it is alive and this run is refused, one that does not is gone and this run takes over`,
      }),
    onLost: (reason) => {
      lostReason = reason;
      for (const listener of listeners) listener(reason);
    },
  });
  const lease: RunLease = {
    holder,
    whenLost(listener) {
      listeners.push(listener);
      if (lostReason !== undefined) listener(lostReason);
    },
    release: () => handle.release(),
  };
  try {
    record(holder);
  } catch (err) {
    await lease.release().catch(() => {});
    throw err;
  }
  return lease;
}

/** Executes the run's `work` under `lease` (taken by takeLease) and returns the run's summary. */
export async function executeUnderLease(
  deps: EngineDeps,
  runId: string,
  lease: RunLease,
  options: RunOptions,
  how: { resumed: boolean; work: RunWork; snapshot?: ReadSnapshot },
): Promise<RunSummary> {
  let ctx: RunContext;
  let run: RunRecord;
  try {
    run = deps.store.mustGetRun(runId);
    const plan = JSON.parse(run.planJson) as Plan;
    ctx = new RunContext(
      deps,
      runId,
      plan,
      run.planHash,
      resolveRunOptions(plan, options),
      hooksOf(plan.policy.hooks),
    );
    ctx.startSnapshot = how.snapshot;
  } catch (err) {
    await lease.release().catch(() => {});
    throw err;
  }
  const { plan } = ctx;
  lease.whenLost((reason) => ctx.requestStop('lease-lost', `lost the cluster lease: ${reason}`));
  const onSignal = () => ctx.requestStop('interrupt', 'interrupted');
  options.signal?.addEventListener('abort', onSignal, { once: true });
  if (options.signal?.aborted) onSignal();
  const control = watchRequests(ctx);
  // Note: one watch of the nodes for the whole run: what its waits, cordons and gates read (run-context.ts).
  const nodeWatch = watchNodes(ctx.kc, ctx.clock);
  ctx.nodeWatch = nodeWatch;
  try {
    deps.store.setRunState(runId, 'running', { holder: lease.holder, reason: null });
    ctx.emit({
      type: 'run-started',
      planId: plan.id,
      source: plan.source,
      target: plan.target,
      mode: run.mode,
      resumed: how.resumed,
    });
    const what = run.mode === 'rollback' ? 'the rollback of run' : 'run';
    // An abort of a run nothing executes is carried out by resuming it: say what it does, not how.
    const verb = run.requestedAction === 'abort' ? 'aborting' : how.resumed ? 'resuming' : 'starting';
    ctx.log(
      'info',
      `${verb} ${what} ${runId}: ${plan.source} → ${plan.target} (plan ${plan.id}) as ${lease.holder} on ${hostname()}`,
    );
    if (run.requestedAction === 'abort')
      ctx.requestStop('abort', 'abort requested', run.requestDetail?.keepCordoned === true);
    await ctx.observer.runStarting({ resumed: how.resumed });
    try {
      const outcome = await how.work(ctx);
      deps.store.setRunState(runId, outcome.state, { reason: outcome.reason ?? null });
      ctx.log('info', `run ${runId} ${outcome.state}${outcome.reason ? `: ${outcome.reason}` : ''}`);
    } catch (err) {
      await settle(ctx, err);
    }
    // Note: not in `finally`: a run whose end the store could not record crashed, and its resume expires them
    // (the silences) and reconciles them (the taints).
    await releasePendingTaints(ctx);
    await ctx.observer.releaseAll();
  } finally {
    control.stop();
    await nodeWatch.stop();
    ctx.nodeWatch = undefined;
    options.signal?.removeEventListener('abort', onSignal);
    await lease.release().catch(() => {});
  }
  const summary = summarizeRun(deps.store, runId);
  ctx.emit({ type: 'run-finished', state: summary.state, reason: summary.reason, summary });
  await ctx.observer.flush();
  return summary;
}

/** Records how the run stopped; rethrows only what the store itself could not record (a crash). */
async function settle(ctx: RunContext, err: unknown): Promise<void> {
  const { store, runId } = ctx;
  const mode = store.mustGetRun(runId).mode;
  const prefix = mode === 'rollback' ? 'rollback ' : '';
  // A failure in one of several parallel nodes stopped the others: it is the run's reason.
  if (ctx.fatalError !== undefined) err = ctx.fatalError;
  if (err instanceof StopSignal && err.kind !== 'fatal') {
    if (err.kind === 'abort') {
      const keep = ctx.stop?.keepCordoned ?? false;
      const released = keep ? [] : await releaseCordoned(ctx);
      const reason = `${prefix}aborted${keep ? '; nodes cordoned by the run were left cordoned as asked' : released.length ? `; uncordoned ${released.join(', ')}` : ''}`;
      store.setRunState(runId, 'aborted', { reason });
      ctx.log('warn', `run ${runId} ${reason}`);
    } else {
      const reason = mode === 'rollback' ? `rollback stopped: ${err.reason}` : err.reason;
      store.setRunState(runId, 'paused', { reason });
      ctx.log(
        'info',
        `run ${runId} paused (${reason}); \`midflight resume ${runId}\` continues the ${mode === 'rollback' ? 'rollback' : 'run'}`,
      );
    }
    store.requestAction(runId, null);
    return;
  }
  const reason = `${prefix}${mode === 'rollback' ? 'stopped: ' : ''}${err instanceof Error ? err.message : String(err)}`;
  store.setRunState(runId, 'failed', { reason });
  ctx.log('error', `run ${runId} failed: ${reason}`, {
    data:
      err instanceof StepFailedError
        ? { stepId: err.stepId, node: err.node, retryable: err.retryable }
        : undefined,
  });
}

/** Uncordons every node this run cordoned and has not finished (abort). Returns their names. */
async function releaseCordoned(ctx: RunContext): Promise<string[]> {
  const released: string[] = [];
  for (const row of ctx.store.stepStates(ctx.runId).filter(isNodeRow)) {
    if (row.wasAlreadyCordoned !== false) continue;
    if (nodeStepEnded(row.status)) continue;
    if (!row.subStep && row.intent !== 'cordon') continue;
    const node = await ctx.cluster.readNode(row.node);
    let uncordoned = false;
    if (node?.unschedulable) {
      await uncordonNode(ctx.kc, row.node, { clock: ctx.clock });
      released.push(row.node);
      uncordoned = true;
    }
    // Note: an upgrade row keeps its subStep: rollback needs to know whether the provider already upgraded
    // the node. A rollback row not yet downgraded starts over if rolled back again: it is uncordoned now.
    const backToStart = row.stepId === ROLLBACK_STEP && uncordoned && !reached(row, 'upgraded');
    ctx.putNodeRow(row.stepId, row.node, {
      status: 'failed',
      intent: undefined,
      ...(backToStart ? { subStep: undefined } : {}),
      detail: { reason: 'run aborted' },
    });
  }
  return released;
}

/** Polls the store for pause/abort requests written by another process (the CLI). */
function watchRequests(ctx: RunContext): { stop(): void } {
  let stopped = false;
  let timer: { cancel(): void } | undefined;
  const tick = () => {
    if (stopped) return;
    try {
      const run = ctx.store.runRequest(ctx.runId);
      if (run?.requestedAction === 'pause') ctx.requestStop('pause', 'pause requested');
      if (run?.requestedAction === 'abort')
        ctx.requestStop('abort', 'abort requested', run.requestDetail?.keepCordoned === true);
    } catch {
      // Reading failed (store closed by a crash): the run's own writes will fail and stop it.
    }
    timer = ctx.clock.setTimer(ctx.options.controlPollMs, tick);
  };
  timer = ctx.clock.setTimer(ctx.options.controlPollMs, tick);
  return {
    stop() {
      stopped = true;
      timer?.cancel();
    },
  };
}
