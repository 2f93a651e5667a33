/**
 * Steers the pods a drain evicts onto nodes already upgraded, so that they move once. Without it, the
 * scheduler puts an evicted pod's replacement on any node with room, often one not upgraded yet, whose drain
 * then evicts it again: its budget is consumed twice and that drain waits for it (issue 11).
 *
 * How: every worker node the run will still drain carries the PreferNoSchedule taint
 * `upgrade.midflight.dev/upgrade-pending=<run id>`, as kOps' rolling update marks the nodes it will replace.
 * kube-scheduler's TaintToleration score then ranks an untainted node 300 points above a tainted one (weight 3
 * × 100), more than resources and soft spreading can make up; PreferNoSchedule never makes a pod Pending, so
 * when only tainted nodes have room the pod still goes there. A node loses the taint in the patch that
 * uncordons it once upgraded (node-steps.ts), or when the run gives up on it (quarantine, a final skip).
 *
 * Which nodes: those of the run's canary and node-pool waves not finished yet, in place and surge alike (a
 * surge pool's old nodes are drained and deleted: a pod that lands on one moves again), except a node already
 * at the target (it is not drained). Not blue-green: its old nodes are all cordoned before the first drain, so
 * a taint would change nothing. Not control-plane members: their own NoSchedule taint keeps workloads off.
 *
 * When: as an execution reaches its first canary or pool wave, so that a run stopped by its preflight or its
 * control plane has touched no worker. Then the cluster is reconciled: this run's taint on exactly the nodes
 * it will still drain, and any other run's taint removed with a warning naming that run and its nodes (it is
 * not executing: this execution holds the cluster's Lease). A rollback reconciles to none before its first
 * node.
 *
 * Crash safety: the taint names its run, so it is recognised on the nodes themselves, with no record needed.
 * Every end (success, incomplete, rollback, pause, abort, failure) takes the taints off; only a process that
 * died keeps them, until the next execution's reconcile (a resume, a rollback, or another run).
 */
import { PENDING_UPGRADE_TAINT_KEY, type Taint } from '../core/index.ts';
import { addNodeTaint, listNodeTaints, type NodeTaints, removeNodeTaint } from '../kube/index.ts';
import { wavesTaintingPendingNodes } from '../plan/index.ts';
import type { RunContext } from './run-context.ts';

export const PENDING_UPGRADE_TAINT = { key: PENDING_UPGRADE_TAINT_KEY, effect: 'PreferNoSchedule' } as const;

/** Patches in flight at once while reconciling: a large cluster is tainted in seconds, not minutes. */
const PARALLEL_PATCHES = 8;

function taintOf(runId: string): Taint {
  return { ...PENDING_UPGRADE_TAINT, value: runId };
}

/** The run's pending-upgrade taint on a node, if any (whichever run put it there). */
function pendingTaintOn(node: NodeTaints): Taint | undefined {
  return node.taints.find(
    (t) => t.key === PENDING_UPGRADE_TAINT.key && t.effect === PENDING_UPGRADE_TAINT.effect,
  );
}

/**
 * The worker nodes the run will still drain, from its plan and its rows: every node of the waves that taint
 * (plan/pending-taint-waves.ts) whose row has not ended.
 */
export function nodesToDrain(ctx: RunContext): Set<string> {
  const nodes = new Set<string>();
  for (const step of wavesTaintingPendingNodes(ctx.plan))
    for (const node of step.nodes) if (!rowEnded(ctx, step.id, node)) nodes.add(node);
  return nodes;
}

/**
 * Whether the node's taint comes off as `stepId` is done with it: no other wave of the run has still to drain
 * it (a kubelet-skew catch-up upgrades some nodes twice, and pods should not settle on them in between).
 */
export function pendingTaintEnds(ctx: RunContext, stepId: string, node: string): boolean {
  return !wavesTaintingPendingNodes(ctx.plan).some(
    (step) => step.id !== stepId && step.nodes.includes(node) && !rowEnded(ctx, step.id, node),
  );
}

/**
 * A node's row in a step has ended: done, quarantined, or skipped for good. A first skip gets another try at
 * its phase's end, and a failed node another one from a resume.
 */
function rowEnded(ctx: RunContext, stepId: string, node: string): boolean {
  const row = ctx.nodeRow(stepId, node);
  return (
    row?.status === 'done' ||
    row?.status === 'quarantined' ||
    (row?.status === 'skipped' && row.detail.final === true)
  );
}

/**
 * Each execution's reconcile of the taints for its waves (once each). Note: kept as the promise, so pools
 * flowing side by side (engine/pool-group.ts) that reach their first waves together wait for one reconcile
 * instead of patching the same nodes twice; a failed one is forgotten, so the next wave tries again.
 */
const reconciled = new WeakMap<RunContext, Promise<void>>();

/** Before a canary or pool wave: the first one of this execution puts the taints where they belong. */
export async function taintNodesToDrain(ctx: RunContext): Promise<void> {
  let done = reconciled.get(ctx);
  if (!done) {
    done = reconcilePendingTaints(ctx, nodesToDrain(ctx));
    reconciled.set(ctx, done);
    done.catch(() => reconciled.delete(ctx));
  }
  await done;
}

/**
 * Makes the cluster match `want`: this run's taint on exactly those nodes (less any already at the plan's
 * target), no other run's anywhere. Idempotent: a node already as wanted is not written.
 */
export async function reconcilePendingTaints(ctx: RunContext, want: ReadonlySet<string>): Promise<void> {
  const taint = taintOf(ctx.runId);
  const foreign = new Map<string, string[]>();
  const changes: Array<() => Promise<boolean>> = [];
  for (const node of await listNodeTaints(ctx.kc, ctx.clock)) {
    const has = pendingTaintOn(node);
    if (has && has.value !== ctx.runId) {
      const run = has.value || '(no run named)';
      foreign.set(run, [...(foreign.get(run) ?? []), node.name]);
    }
    const wanted = want.has(node.name) && node.kubeletVersion !== ctx.plan.target;
    const options = { clock: ctx.clock, known: node };
    if (wanted && has?.value !== ctx.runId)
      changes.push(() => addNodeTaint(ctx.kc, node.name, taint, options));
    else if (!wanted && has)
      changes.push(() => removeNodeTaint(ctx.kc, node.name, PENDING_UPGRADE_TAINT, options));
  }
  for (const [run, nodes] of foreign)
    ctx.log(
      'warn',
      `run ${run} left its pending-upgrade taint (${PENDING_UPGRADE_TAINT_KEY}:PreferNoSchedule) on ${nodes.length} node(s): ${nodes.slice(0, 10).join(', ')}${nodes.length > 10 ? ', …' : ''}; it is not executing (run ${ctx.runId} holds the cluster's lease), so its taint is ${want.size > 0 ? 'replaced or ' : ''}removed`,
    );
  await inParallel(changes, PARALLEL_PATCHES);
}

/**
 * `stepId` is done with the node (upgraded it, or gave up on it): unless another wave has still to drain it,
 * it no longer needs to repel evicted pods.
 */
export async function dropPendingTaint(ctx: RunContext, stepId: string, node: string): Promise<void> {
  if (ctx.plan.policy.drain.preferUpgradedNodes === false || !pendingTaintEnds(ctx, stepId, node)) return;
  await removeNodeTaint(ctx.kc, node, PENDING_UPGRADE_TAINT, { clock: ctx.clock });
}

/**
 * At the end of an execution, however it ended: this run's taints (and any dead run's) come off every node.
 * Never throws: what it could not remove is named in a warning, and the next execution removes it.
 * Note: not after a lost lease: another process may be executing the run now, with its own taints.
 */
export async function releasePendingTaints(ctx: RunContext): Promise<void> {
  if (ctx.stop?.kind === 'lease-lost') return;
  try {
    await reconcilePendingTaints(ctx, new Set());
  } catch (err) {
    try {
      ctx.log(
        'warn',
        `could not remove the pending-upgrade taint from every node (${err instanceof Error ? err.message : String(err)}): \`midflight resume ${ctx.runId}\` or the next run removes it, as does \`kubectl taint nodes --all ${PENDING_UPGRADE_TAINT_KEY}:PreferNoSchedule-\``,
      );
    } catch {
      // The store failed too: a crash, as far as this process can tell; a resume reconciles the taints.
    }
  }
}

/** Runs `tasks` with at most `limit` at once; the first failure is thrown once all have settled. */
async function inParallel(tasks: Array<() => Promise<unknown>>, limit: number): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      await task().catch((err: unknown) => {
        failure ??= err;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure !== undefined) throw failure;
}
