/**
 * rollbackRun: returns the worker nodes a run upgraded to their previous kubelet version, newest first,
 * with the same discipline as the upgrade (cordon, drain, provider, verify, uncordon) and the same
 * provider, as a mode of the run (see run-execution.ts): paused, aborted, interrupted and resumed like the
 * upgrade. Control-plane members are never rolled back here: a control-plane minor cannot be downgraded
 * in place; the way back is an etcd snapshot restore, which the summary says plainly.
 */
import type { NodeWaveStep, Plan, PlanStep } from '../plan/index.ts';
import { isNodeWave, poolOfStep } from '../plan/index.ts';
import { isNodeRow, type NodeRowDetail, type StepStateRecord } from '../store/index.ts';
import { type BlueGreenPair, blueGreenPairs, rollbackBlueGreen } from './blue-green.ts';
import { RunStateError, StepFailedError } from './errors.ts';
import { reached, upgradeWorkerNode } from './node-steps.ts';
import { reconcilePendingTaints } from './pending-upgrade-taint.ts';
import type { EngineDeps, RunContext, RunOptions } from './run-context.ts';
import type { RunSummary } from './run-events.ts';
import { executeUnderLease, takeLease, type WorkOutcome } from './run-execution.ts';
import { ROLLBACK_STEP } from './run-summary.ts';

export interface RollbackTarget {
  node: string;
  pool: string;
  /** The version the node ran before the run touched it. */
  version: string;
}

export interface RollbackPlan {
  nodes: RollbackTarget[];
  /** strategy blue-green pools not deleted yet: each blue node uncordoned, its green node drained and deleted. */
  blueGreen: BlueGreenPair[];
  /** Members the run upgraded that rollback leaves alone, with why. */
  notRollbackable: Array<{
    node: string;
    reason: string /** Set for a control-plane member. */;
    wasVersion?: string;
  }>;
}

/**
 * What rollback would do, from the store alone (for `rollback --dry-run` and the confirmation prompt): the
 * nodes of the steps in the run's rollback scope (a health gate's rollback of one wave), or, with none or with
 * `steps: 'all'`, every worker node the run upgraded; `steps` as a list: the nodes of those steps.
 */
export function planRollback(
  deps: Pick<EngineDeps, 'store'>,
  runId: string,
  options: { steps?: 'all' | string[] } = {},
): RollbackPlan {
  const run = deps.store.mustGetRun(runId);
  const scope = options.steps === 'all' ? undefined : (options.steps ?? run.rollbackScope);
  const plan = JSON.parse(run.planJson) as Plan;
  const stepKind = new Map(plan.phases.flatMap((p) => p.steps.map((s) => [s.id, s] as const)));
  const touched = (r: StepStateRecord<NodeRowDetail>) =>
    r.previousVersion !== undefined &&
    (reached(r, 'upgraded') || (r.status === 'done' && !r.detail.alreadyAtTarget));
  const rows = deps.store
    .stepStates(runId)
    .filter(isNodeRow)
    .filter((r) => r.stepId !== ROLLBACK_STEP && touched(r))
    .filter((r) => scope === undefined || scope.includes(r.stepId));
  const notRollbackable: RollbackPlan['notRollbackable'] = [];
  const first = new Map<string, { row: StepStateRecord; step: PlanStep; last: number }>();
  for (const row of rows) {
    const step = stepKind.get(row.stepId);
    if (!step) continue;
    if (step.kind === 'control-plane') {
      if (!notRollbackable.some((n) => n.node === row.node))
        notRollbackable.push({
          node: row.node,
          wasVersion: row.previousVersion,
          reason: `control-plane member (was ${row.previousVersion}): a control-plane minor cannot be downgraded in place; the way back is restoring the etcd snapshot taken before the run`,
        });
      continue;
    }
    // Note: a blue-green node not deleted yet goes back with its pool (blue-green.ts), not one by one.
    if (isNodeWave(step) && step.replacement?.blueGreen && !row.detail.deleted) continue;
    if (row.detail.replacedBy || row.detail.deleted) {
      if (!notRollbackable.some((n) => n.node === row.node))
        notRollbackable.push({
          node: row.node,
          reason: `replaced by ${row.detail.replacedBy ?? 'a new node'} and deleted (strategy surge, was ${row.previousVersion}): the way back is another replacement at the old version, from a new plan`,
        });
      continue;
    }
    const seen = first.get(row.node);
    const finished = row.finishedAt ?? row.updatedAt;
    // A node moved through several hops keeps the version it had before the first one.
    if (!seen || (row.startedAt ?? 0) < (seen.row.startedAt ?? 0))
      first.set(row.node, { row, step, last: Math.max(finished, seen?.last ?? 0) });
    else seen.last = Math.max(seen.last, finished);
  }
  const nodes = [...first.values()]
    .sort((a, b) => b.last - a.last)
    .map(({ row, step }) => ({ node: row.node, pool: poolOfStep(step), version: row.previousVersion! }));
  // Note: a blue-green pool goes back whole, whatever step a gate named: its blue nodes are all held.
  return { nodes, notRollbackable, blueGreen: blueGreenPairs({ plan, store: deps.store, runId }) };
}

/**
 * Starts (or restarts) the rollback of a stopped run: the run switches to rollback mode under the cluster's
 * Lease, and from then on pause, abort, Ctrl-C and `resume` act on the rollback.
 */
export async function rollbackRun(
  deps: EngineDeps,
  runId: string,
  options: RunOptions = {},
): Promise<RunSummary> {
  const run = deps.store.mustGetRun(runId);
  if (run.state === 'running' || run.state === 'pending')
    throw new RunStateError(
      runId,
      run.state,
      run.mode === 'rollback'
        ? `run ${runId} is already rolling back (${run.state}): if its process is gone, \`midflight resume ${runId}\` continues the rollback`
        : `run ${runId} is ${run.state}: pause or abort it before rolling back`,
    );
  const lease = await takeLease(deps, runId, options, () => {
    deps.store.setRunMode(runId, 'rollback');
    // A pause or abort asked of the upgrade is not a request to stop the rollback.
    if (run.requestedAction) deps.store.requestAction(runId, null);
  });
  return executeUnderLease(deps, runId, lease, options, { resumed: false, work: rollbackWork });
}

/** The rollback's work: each node the run upgraded, newest first, back to its previous version. */
export async function rollbackWork(ctx: RunContext): Promise<WorkOutcome> {
  const target = planRollback(ctx.deps, ctx.runId);
  ctx.checkpoint('step');
  // The nodes the upgrade had still to drain are not drained now: their taint would send the pods a rollback
  // evicts onto the very nodes it is about to return (any run's leftover goes too).
  await reconcilePendingTaints(ctx, new Set());
  ctx.log('info', `rolling back run ${ctx.runId}: ${target.nodes.length} worker node(s) in reverse order`);
  for (const n of target.notRollbackable)
    ctx.log('warn', `not rolled back: ${n.node}: ${n.reason}`, { node: n.node });
  const pairs = target.blueGreen;
  if (pairs.length > 0) {
    ctx.log('info', `blue-green: putting ${pairs.length} blue node(s) back and removing their green nodes`);
    await rollbackBlueGreen(ctx, ROLLBACK_STEP, pairs);
  }
  for (const t of target.nodes) {
    ctx.checkpoint('step');
    const step: NodeWaveStep = {
      id: ROLLBACK_STEP,
      kind: 'node-wave',
      title: `Roll ${t.node} back to ${t.version}`,
      version: t.version,
      pool: t.pool,
      nodes: [t.node],
      maxInFlight: 1,
      reasons: [`run ${ctx.runId} upgraded it`],
      checks: [],
      rollback: 'upgrade it again',
      estimateSeconds: 0,
    };
    const result = await upgradeWorkerNode(ctx, step, t.node);
    if (result.status !== 'done')
      throw new StepFailedError(
        ROLLBACK_STEP,
        t.node,
        `rollback of ${t.node} ${result.status}: its drain did not finish`,
        true,
      );
  }
  const cp = target.notRollbackable.map((n) => n.node);
  return {
    state: 'rolled-back',
    reason:
      cp.length > 0
        ? `workers rolled back; control plane (${cp.join(', ')}) not rolled back: restore the etcd snapshot to go back`
        : 'rolled back',
  };
}
