/**
 * The words of a plan's reasons, in one place: a batch's reasons are data (BatchReason); the table, the
 * runbook and the planner's warnings all put them into words here, so nothing depends on a message's
 * wording.
 */
import type { BatchReason } from './batching.ts';
import type { StepReason } from './plan-types.ts';

export function describeReason(reason: StepReason): string {
  if (typeof reason === 'string') return reason;
  return describeBatchReason(reason);
}

function describeBatchReason(r: BatchReason): string {
  switch (r.kind) {
    case 'pool-limit':
      return `${r.nodes} node(s): the pool's ${r.limit}`;
    case 'rest-of-pool':
      return `${r.nodes} node(s): the rest of the pool`;
    case 'constrained':
      return `${r.nodes} node(s): less than ${r.limit} because of the constraints below`;
    case 'dealt':
      return `${r.nodes} node(s): the nodes dealt over ${r.rounds} batches, ${r.fewest ? 'the fewest' : 'fewer than filling one batch after another takes, and as few as found'} that ${r.limit} and the budgets allow`;
    case 'deferred-for-budget':
      return `${r.node} deferred: with it, the batch would evict ${r.evicted} pods of ${r.budget}, which allows ${r.allowed}`;
    case 'deferred-for-capacity':
      return `${r.node} deferred: its pods would not fit on the nodes left`;
    case 'budget-exceeded-alone':
      return `${r.node} alone hosts ${r.pods} healthy pods of ${r.budget}, which allows ${r.allowed}: no grouping avoids it; its drain evicts them as replacements become ready`;
    case 'alone':
      return `1 node: ${r.node} cannot share a batch`;
    case 'budget-blocks-drain':
      return `${r.node} cannot be drained without breaking ${r.budget}: it hosts ${r.pods} healthy pod(s) of it and the budget allows ${r.allowed}; the drain will wait for the budget or time out per drain.onTimeout`;
    case 'does-not-fit':
      return `${r.node}'s pods do not fit on the other nodes; some will stay Pending until it returns`;
    case 'budget-use':
      return `budget use: ${r.usage.map((u) => `${u.budget} ${u.evicted}/${u.allowed}`).join(', ')}`;
  }
}

/** Whether the reason is one a reviewer must see among the plan's warnings: a budget no grouping satisfies. */
export function isBudgetWarning(reason: StepReason): boolean {
  return (
    typeof reason !== 'string' &&
    (reason.kind === 'budget-blocks-drain' || reason.kind === 'budget-exceeded-alone')
  );
}
