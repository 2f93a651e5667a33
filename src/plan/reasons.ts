/**
 * The words of a plan's reasons, in one place: a wave's reasons about its nodes are data (NodeReason); the
 * table, the runbook and the planner's warnings all put them into words here, so nothing depends on a
 * message's wording.
 */
import { formatDuration } from '../core/index.ts';
import type { PoolLowerBound } from './lower-bound.ts';
import type { FlowGroupEstimate, StepReason } from './plan-types.ts';

/** Why a node of a wave is where it is in the expected order, or what its drain will meet. */
export type NodeReason =
  /** The node goes after `beside`: both evict pods of `budget`, and draining them at once would wait. */
  | { kind: 'moved-later'; node: string; budget: string; beside: string }
  /** Moved later for the same reason as the nodes named before; counted, not named, to keep plans short. */
  | { kind: 'more-moved-later'; nodes: number }
  /** The node's own healthy pods exceed a budget allowing some: its drain evicts them as replacements become Ready. */
  | { kind: 'budget-exceeded-alone'; node: string; budget: string; pods: number; allowed: number }
  /** A budget allowing none blocks the node's drain: it goes last. */
  | { kind: 'budget-blocks-drain'; node: string; budget: string; pods: number; allowed: number }
  /** The node's pods do not fit on the other nodes. */
  | { kind: 'does-not-fit'; node: string };

export function describeReason(reason: StepReason): string {
  if (typeof reason === 'string') return reason;
  switch (reason.kind) {
    case 'moved-later':
      return `${reason.node} later: in flight beside ${reason.beside}, both drains would evict pods of ${reason.budget} at once`;
    case 'more-moved-later':
      return `${reason.nodes} more node(s) moved later for the same reason`;
    case 'budget-exceeded-alone':
      return `${reason.node} alone hosts ${reason.pods} healthy pods of ${reason.budget}, which allows ${reason.allowed}: its drain evicts them as replacements become Ready`;
    case 'budget-blocks-drain':
      return `${reason.node} cannot be drained without breaking ${reason.budget}: it hosts ${reason.pods} healthy pod(s) of it and the budget allows ${reason.allowed}; it goes last, and its drain will wait for the budget or time out per drain.onTimeout`;
    case 'does-not-fit':
      return `${reason.node}'s pods do not fit on the other nodes; some will stay Pending until it returns`;
  }
}

/** Whether the reason is one a reviewer must see among the plan's warnings: a budget no order satisfies. */
export function isBudgetWarning(reason: StepReason): boolean {
  return (
    typeof reason !== 'string' &&
    (reason.kind === 'budget-blocks-drain' || reason.kind === 'budget-exceeded-alone')
  );
}

/** What sets a pool's lower bound, in words (the runbook's "What limits the node phases"). */
export function describeBound(p: PoolLowerBound): string {
  const d = (s: number) => formatDuration(s * 1000);
  const cycles = `${p.nodes} node(s), ${p.maxInFlight} in flight at once: at least ${d(p.inFlightSeconds)} of node cycles`;
  const none = p.budgetAllowsNone
    ? '; a budget here allows no disruption now, so its nodes wait for its pods to recover'
    : '';
  const name = p.setupSeconds
    ? `${p.pool}: after the green pool's boot (${d(p.setupSeconds)}),`
    : `${p.pool}:`;
  if (p.limitedBy === 'budget') {
    const b = p.tightestBudget!;
    return `Pool ${name} budget ${b.budget} allows ${b.allowed} disruption(s) at a time and covers ${b.pods} pod(s), each replaced before the next may go: at least ${d(b.seconds)} (${cycles})${none}.`;
  }
  if (p.limitedBy === 'capacity')
    return `Pool ${name} ${cycles}, fewer in flight than the policy allows because the pods would not fit${none}.`;
  return `Pool ${name} ${cycles}${none}.`;
}

/**
 * "pools compute, general flow side by side (pools-v1.32.2-1): at most 4 nodes in flight across them; est. 3m,
 * lower bound 2m20s": what a reviewer must know about pools that policy.poolConcurrency lets run together.
 */
export function describeFlowGroup(g: FlowGroupEstimate): string {
  const d = (s: number) => formatDuration(s * 1000);
  return `pools ${g.pools.join(', ')} flow side by side (${g.id}): at most ${g.maxInFlight} node(s) in flight across them, each pool within its own limit, its waves' gates and soaks in its own order; together est. ${d(g.estimateSeconds)}, lower bound ${d(g.lowerBoundSeconds)}`;
}
