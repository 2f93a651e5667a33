/**
 * A wave's nodes as a flow: up to `maxInFlight` nodes go through cordon → drain → upgrade → verify →
 * uncordon at once, and the moment one finishes the next is admitted, chosen from the live cluster
 * (admission.ts). No node waits for a slower one: a wave's only barrier is its end (its gate and soak).
 *
 * Crash safety: a node's admission is written to its row (intent `admit`) before anything touches it, so a
 * resumed wave admits the nodes the store shows started before any other, without asking the budgets
 * again: they may be cordoned already, and they count against the cap.
 *
 * Health gates (gate-checks.ts) are asked before each admission: when one says pause or rollback, the flow
 * admits no more node and lets those in flight finish, as a pause does.
 *
 * Stopping: a pause or Ctrl-C admits no more node and lets those in flight finish; an abort or a crash
 * stops them at their next sub-step (node-steps.ts); a failed node admits no more either, the others
 * finish, and the failure is thrown once none is in flight.
 *
 * Pools flowing together (policy.poolConcurrency, pool-group.ts): each wave is its own flow within its own
 * maxInFlight, and a node is admitted only while the run-wide cap has room (ctx.flightRoom); a flow held
 * by it alone waits for a node of any flow to leave. A failure in one pool halts admissions in all.
 */
import { BudgetWatch, type DrainProgress } from '../kube/index.ts';
import type { NodeWaveStep } from '../plan/index.ts';
import { nodeStepEnded } from '../store/index.ts';
import { describeVerdict, WaveAdmission } from './admission.ts';
import { AdmissionsHaltedError, StepFailedError } from './errors.ts';
import { gatesAllow } from './gate-checks.ts';
import { windowAdmits } from './maintenance-window.ts';
import { type NodeResult, upgradeWorkerNode } from './node-steps.ts';
import { type RunContext, StopSignal } from './run-context.ts';

export async function flowNodes(ctx: RunContext, step: NodeWaveStep): Promise<NodeResult[]> {
  ctx.daemonSetCache = new Map();
  const results: NodeResult[] = [];
  const restarted: string[] = [];
  const waiting: string[] = [];
  for (const node of step.nodes) {
    const row = ctx.nodeRow(step.id, node);
    if (nodeStepEnded(row?.status)) results.push(await upgradeWorkerNode(ctx, step, node));
    else if (row) restarted.push(node);
    else waiting.push(node);
  }
  const admission = new WaveAdmission(ctx);
  const inFlight = new Map<string, Promise<void>>();
  let failure: unknown;
  const launch = (node: string) => {
    ctx.reservedFlight.delete(node);
    admission.admitted(node);
    ctx.enterFlight(node);
    const run = upgradeWorkerNode(ctx, step, node)
      .then((result) => {
        results.push(result);
      })
      .catch((err: unknown) => {
        if (!(err instanceof StopSignal) && !(err instanceof StepFailedError)) ctx.fail(err);
        // Note: pools flowing with this one admit no more node either (pool-group.ts).
        if (!(err instanceof StopSignal)) ctx.haltAdmissions(`pool ${step.pool}: ${describe(err)}`);
        // The first failure is the one to report; a stop only when nothing failed.
        if (failure === undefined || (failure instanceof StopSignal && !(err instanceof StopSignal)))
          failure = err;
      })
      .finally(() => {
        inFlight.delete(node);
        ctx.leaveFlight(node);
        admission.left(node);
      });
    inFlight.set(node, run);
  };
  const admitting = () =>
    failure === undefined &&
    !ctx.stop &&
    ctx.admissionsHalted === undefined &&
    inFlight.size < step.maxInFlight;
  const roomToAdmit = () => admitting() && ctx.flightRoom() > 0;

  /** The next node to admit, once the window and the health gates allow one (undefined: none now). */
  const nextAdmission = async (): Promise<string | undefined> => {
    if (!(await windowAdmits(ctx, inFlight.size))) return undefined;
    // Note: the health gates are asked before each admission; a pause or rollback stops admitting here.
    const allowed = await gatesAllow(ctx, step.id).catch((err: unknown) => {
      failure ??= err;
      return false;
    });
    if (!allowed) return undefined;
    // This flow's free slots, this one's included (it holds one of the run-wide cap's while deciding).
    const slotsFree = Math.min(step.maxInFlight - inFlight.size, ctx.flightRoom() + 1);
    return admit(ctx, step, admission, waiting, slotsFree).catch((err: unknown) => {
      failure ??= err;
      return undefined;
    });
  };

  const onProgress = (node: string, progress: DrainProgress) => admission.progress(node, progress);
  ctx.drainListeners.add(onProgress);
  // Note: one watch for every flow of the run: pools flowing together share it; the last one stops it.
  if (ctx.budgetWatchUsers++ === 0) ctx.budgetWatch = BudgetWatch.start(ctx.kc, ctx.clock);
  try {
    await admission.resumed(restarted).catch((err: unknown) => {
      failure ??= err;
    });
    for (;;) {
      while (admitting() && restarted.length > 0) launch(restarted.shift()!);
      while (roomToAdmit() && waiting.length > 0) {
        // Note: the slot is held from here until the node is in flight (or none is chosen), so a flow of
        // another pool cannot take it while the window, the gates and the budgets are asked.
        ctx.admissionsDeciding += 1;
        const node = await nextAdmission().finally(() => {
          ctx.admissionsDeciding -= 1;
        });
        if (node === undefined) break;
        if (admitting()) launch(node);
        else waiting.unshift(node);
      }
      // Held by the run-wide cap alone: a node of another pool's flow leaving makes room.
      const heldByCap = admitting() && waiting.length > 0 && ctx.flightRoom() <= 0;
      if (inFlight.size === 0 && !heldByCap) break;
      await Promise.race([...inFlight.values(), ...(heldByCap ? [ctx.flightChanged()] : [])]);
    }
  } finally {
    ctx.drainListeners.delete(onProgress);
    if (--ctx.budgetWatchUsers === 0) {
      const watch = ctx.budgetWatch;
      ctx.budgetWatch = undefined;
      await watch?.stop();
    }
  }
  if (ctx.fatalError !== undefined) throw ctx.fatalError;
  if (failure !== undefined) throw failure;
  // Stopped with nodes left: the wave is not done, whatever stopped it.
  const left = waiting.length + restarted.length;
  if (left > 0) {
    ctx.checkpoint('step');
    if (ctx.admissionsHalted !== undefined)
      throw new AdmissionsHaltedError(step.id, `${left} node(s) left; ${ctx.admissionsHalted}`);
    // Note: fail closed: a wave that stopped admitting with nodes left and no stop asked is never done.
    throw new Error(`${step.id} stopped admitting with ${left} node(s) left and no stop requested`);
  }
  return results;
}

/**
 * Chooses the next node, takes it out of `waiting` and records its admission (and, when it jumps the plan's
 * order, why) in its row before anything touches it.
 */
async function admit(
  ctx: RunContext,
  step: NodeWaveStep,
  admission: WaveAdmission,
  waiting: string[],
  slotsFree: number,
): Promise<string | undefined> {
  const choice = await admission.choose(waiting, slotsFree);
  if (!choice) return undefined;
  waiting.splice(waiting.indexOf(choice.node), 1);
  const passedOver = choice.passedOver.map((p) => describeVerdict(p.node, p.verdict));
  if (passedOver.length > 0)
    ctx.log('info', `admitted ${choice.node} ahead of the plan's order: ${passedOver.join('; ')}`, {
      stepId: step.id,
      node: choice.node,
    });
  ctx.putNodeRow(
    step.id,
    choice.node,
    { intent: 'admit', detail: { aheadOf: passedOver.length > 0 ? passedOver : undefined } },
    'admitted',
  );
  return choice.node;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
