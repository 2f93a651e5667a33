/**
 * The least time any plan could take to upgrade a set of node pools under the same rules, so a plan's node
 * phase can be compared with the best possible.
 *
 * Note: the arithmetic, per pool (pools go one after another):
 *   rounds ≥ ceil(nodes / maxUnavailable)          — no round drains more than maxUnavailable nodes;
 *   rounds ≥ ceil(m_b / k_b) for every budget b     — a budget allowing k_b disruptions whose healthy pods sit
 *                                                    on m_b distinct nodes of the pool: each of those nodes
 *                                                    evicts ≥ 1 of its pods, so one round holds ≤ k_b of them.
 *   time   ≥ rounds × (drain + upgrade + soak of one round).
 * Worked example: 10 nodes, maxUnavailable 3 → ceil(10/3) = 4 rounds; budget web-pdb allows 1 and its pods
 * are on 6 of the nodes → ceil(6/1) = 6 rounds. The bound is max(4, 6) = 6 rounds; at 9 min per round, 54 min.
 * A budget that allows 0 is counted as allowing 1 (its nodes cannot go faster than one per round once its
 * pods recover) and flagged, since the real time then depends on how fast the pods become healthy.
 */
export interface PoolBoundInput {
  pool: string;
  nodes: number;
  maxNodes: number;
  roundSeconds: number;
  /** For each budget with healthy pods in the pool: the distinct nodes hosting them and what it allows. */
  budgets: ReadonlyArray<{ budget: string; nodes: number; allowed: number }>;
}

export interface PoolLowerBound {
  pool: string;
  nodes: number;
  rounds: number;
  roundsByMaxUnavailable: number;
  tightestBudget?: { budget: string; nodes: number; allowed: number; rounds: number };
  /** A budget allowing 0 disruptions sits on this pool's nodes. */
  budgetAllowsNone: boolean;
  seconds: number;
}

export interface LowerBound {
  seconds: number;
  rounds: number;
  pools: PoolLowerBound[];
}

export function poolLowerBound(input: PoolBoundInput): PoolLowerBound {
  if (input.nodes === 0) {
    return {
      pool: input.pool,
      nodes: 0,
      rounds: 0,
      roundsByMaxUnavailable: 0,
      budgetAllowsNone: false,
      seconds: 0,
    };
  }
  const roundsByMaxUnavailable = Math.ceil(input.nodes / Math.max(1, input.maxNodes));
  let tightest: PoolLowerBound['tightestBudget'];
  let budgetAllowsNone = false;
  for (const b of input.budgets) {
    if (b.nodes === 0) continue;
    if (b.allowed <= 0) budgetAllowsNone = true;
    const rounds = Math.ceil(b.nodes / Math.max(1, b.allowed));
    if (!tightest || rounds > tightest.rounds || (rounds === tightest.rounds && b.budget < tightest.budget)) {
      tightest = { budget: b.budget, nodes: b.nodes, allowed: b.allowed, rounds };
    }
  }
  const rounds = Math.max(roundsByMaxUnavailable, tightest?.rounds ?? 0);
  const result: PoolLowerBound = {
    pool: input.pool,
    nodes: input.nodes,
    rounds,
    roundsByMaxUnavailable,
    budgetAllowsNone,
    seconds: rounds * input.roundSeconds,
  };
  if (tightest && tightest.rounds > roundsByMaxUnavailable) result.tightestBudget = tightest;
  return result;
}

export function lowerBound(pools: readonly PoolBoundInput[]): LowerBound {
  const bounds = pools.map(poolLowerBound);
  return {
    seconds: bounds.reduce((s, b) => s + b.seconds, 0),
    rounds: bounds.reduce((s, b) => s + b.rounds, 0),
    pools: bounds,
  };
}
