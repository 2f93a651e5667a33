/**
 * How far drain.onTimeout `quarantine` may go. A quarantined node stays cordoned for good, so quarantining
 * without a limit can empty a pool (every worker cordoned, add-ons Pending). A node may be quarantined only
 * while its pool has fewer than drain.maxQuarantined quarantined nodes (default one), and only if the pool's
 * next nodes can still be drained with it out of service; otherwise the run halts instead.
 */
import {
  capacityModelOf,
  clusterModelOf,
  formatBytes,
  formatCpu,
  poolInFlightLimit,
  resolvePools,
  surgeCapacityOf,
} from '../core/index.ts';
import { readSnapshot } from '../kube/index.ts';
import type { NodeStep } from '../plan/index.ts';
import { DEFAULT_MAX_QUARANTINED, poolOfStep } from '../plan/index.ts';
import { nodeStepEnded } from '../store/index.ts';
import type { RunContext } from './run-context.ts';

/** Holds a place for `node` among its pool's quarantined nodes, or says why it may not be quarantined. */
export async function reserveQuarantine(
  ctx: RunContext,
  step: NodeStep,
  node: string,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const pool = poolOfStep(step);
  const max = ctx.plan.policy.drain.maxQuarantined ?? DEFAULT_MAX_QUARANTINED;
  // Note: counted and reserved without an await in between: nodes in flight together get stuck together.
  const already = quarantinedIn(ctx, pool);
  if (already.length >= max)
    return {
      ok: false,
      reason: `pool ${pool} already has ${already.length} quarantined node(s) (${already.join(', ') || 'none'}; drain.maxQuarantined is ${max})`,
    };
  ctx.quarantining.set(node, pool);
  const short = await capacityShortfall(ctx, pool, node);
  if (short === undefined) return { ok: true };
  ctx.quarantining.delete(node);
  return { ok: false, reason: short };
}

/** The pool's quarantined nodes: recorded by this run, or being quarantined right now. */
function quarantinedIn(ctx: RunContext, pool: string): string[] {
  const poolOfStepId = new Map(
    ctx.plan.phases.flatMap((p) => p.steps.map((s) => [s.id, poolOfStep(s)] as const)),
  );
  const names = new Set<string>();
  for (const row of ctx.store.stepStates(ctx.runId))
    if (row.status === 'quarantined' && poolOfStepId.get(row.stepId) === pool) names.add(row.node);
  for (const [node, p] of ctx.quarantining) if (p === pool) names.add(node);
  return [...names];
}

/**
 * Whether the pool, with `node` and the other quarantined nodes cordoned, still has room for the pods of
 * its next nodes (those it has yet to upgrade, as many as the pool lets into flight at once).
 */
async function capacityShortfall(ctx: RunContext, pool: string, node: string): Promise<string | undefined> {
  const snapshot = await readSnapshot(ctx.kc, { clock: ctx.clock, attempts: 8 });
  const policy = ctx.plan.policy;
  const model = clusterModelOf(snapshot, policy.poolLabel);
  const poolNodes = resolvePools(model, policy.pools).get(pool) ?? [];
  const own = policy.pools.find((p) => p.name === pool);
  const limit = poolInFlightLimit(
    {
      maxUnavailable: own?.maxUnavailable ?? policy.defaults.maxUnavailable,
      maxSurge: own?.maxSurge ?? policy.defaults.maxSurge,
      strategy: own?.strategy ?? policy.defaults.strategy,
    },
    poolNodes.length,
  );
  const done = new Set(
    ctx.store
      .stepStates(ctx.runId)
      .filter((r) => nodeStepEnded(r.status))
      .map((r) => r.node),
  );
  const out = new Set([node, ...ctx.quarantining.keys()]);
  const next = poolNodes
    .filter((n) => !n.cordoned && !out.has(n.name) && !done.has(n.name))
    .slice(0, limit.maxNodes)
    .map((n) => n.name);
  if (next.length === 0) return undefined;
  const verdict = capacityModelOf(model).check(next, surgeCapacityOf(poolNodes, limit.surge));
  const s = verdict.shortfalls[0];
  if (!s) return undefined;
  return (
    `with ${node} out of service, pool ${pool} has no room for the pods of its next node(s) ` +
    `${next.join(', ')} (${s.group}: need ${formatCpu(s.demand.cpuMillis / 1000)} CPU, ` +
    `${formatBytes(s.demand.memoryBytes)}; free ${formatCpu(s.free.cpuMillis / 1000)} CPU, ${formatBytes(s.free.memoryBytes)})`
  );
}
