/**
 * The least time any execution could take to upgrade a pool's nodes under the same policy: a physical
 * bound, from what the nodes and the budgets allow, not from any plan's shape, so the node phase of a plan
 * and of a run can be compared with the best possible.
 *
 * Note: the arithmetic, per pool (pools go one after another):
 *   in flight   ≥ ceil(nodes / maxInFlight) × cycle   — at most maxInFlight nodes are out at once and each is
 *                                                        out for one cycle (drain + upgrade); maxInFlight is
 *                                                        already lowered where the pods would not fit;
 *               ≥ ceil(Σ cycles / maxInFlight)       — when cycles differ (a node two minors behind is
 *               ≥ the longest cycle                    upgraded twice: one provider call per minor), the
 *                                                        first line takes the shortest;
 *   budget b    ≥ pods_b × podStartup / allowed_b     — a budget frees a disruption only when an evicted pod's
 *                                                        replacement is Ready, so its pods leave at most
 *                                                        allowed_b per start-up time.
 *   pool        ≥ the largest of these.
 * Worked example: 24 nodes, 4 in flight, a 40 s cycle → 6 × 40 = 240 s; budget web allows 1, its 30 pods
 * start in 5 s → 150 s. The bound is 240 s, set by the in-flight cap. A budget that allows 0 is counted as
 * allowing 1 (its pods cannot leave faster once they recover) and flagged, since the real time then depends
 * on how fast they become healthy.
 */
export interface PoolBoundInput {
  pool: string;
  nodes: number;
  /** Nodes out at once: the policy's limit, less where the pods would not fit (see capacityLimited). */
  maxInFlight: number;
  /** maxInFlight is below the policy's limit because the evicted pods would not fit. */
  capacityLimited?: boolean;
  /** One node out of service: its drain and its upgrade (the shortest, when the nodes' cycles differ). */
  cycleSeconds: number;
  /** When the nodes' cycles differ: all of them added up, and the longest. */
  totalCycleSeconds?: number;
  longestCycleSeconds?: number;
  podStartupSeconds: number;
  /** Each budget with healthy pods on the pool's nodes: how many, and what it allows. */
  budgets: ReadonlyArray<{ budget: string; pods: number; allowed: number }>;
}

export interface PoolLowerBound {
  pool: string;
  nodes: number;
  maxInFlight: number;
  /** ceil(nodes / maxInFlight) × cycle. */
  inFlightSeconds: number;
  /** The budget whose pods take longest to leave, when that sets the bound. */
  tightestBudget?: { budget: string; pods: number; allowed: number; seconds: number };
  /** What sets the bound: the in-flight cap, the cap as the capacity lowered it, or a budget. */
  limitedBy: 'in-flight' | 'capacity' | 'budget';
  /** A budget allowing 0 disruptions selects pods on this pool's nodes. */
  budgetAllowsNone: boolean;
  seconds: number;
}

export interface LowerBound {
  seconds: number;
  pools: PoolLowerBound[];
}

export function poolLowerBound(input: PoolBoundInput): PoolLowerBound {
  const slots = Math.max(1, input.maxInFlight);
  const inFlightSeconds =
    input.nodes === 0
      ? 0
      : Math.max(
          Math.ceil(input.nodes / slots) * input.cycleSeconds,
          Math.ceil((input.totalCycleSeconds ?? 0) / slots),
          input.longestCycleSeconds ?? 0,
        );
  let tightest: PoolLowerBound['tightestBudget'];
  let budgetAllowsNone = false;
  for (const b of input.budgets) {
    if (b.pods === 0) continue;
    if (b.allowed <= 0) budgetAllowsNone = true;
    const seconds = Math.ceil((b.pods * input.podStartupSeconds) / Math.max(1, b.allowed));
    if (
      !tightest ||
      seconds > tightest.seconds ||
      (seconds === tightest.seconds && b.budget < tightest.budget)
    )
      tightest = { budget: b.budget, pods: b.pods, allowed: b.allowed, seconds };
  }
  const byBudget = tightest !== undefined && tightest.seconds > inFlightSeconds;
  const result: PoolLowerBound = {
    pool: input.pool,
    nodes: input.nodes,
    maxInFlight: input.maxInFlight,
    inFlightSeconds,
    limitedBy: byBudget ? 'budget' : input.capacityLimited ? 'capacity' : 'in-flight',
    budgetAllowsNone,
    seconds: byBudget ? tightest!.seconds : inFlightSeconds,
  };
  if (byBudget) result.tightestBudget = tightest;
  return result;
}

export function lowerBound(pools: readonly PoolBoundInput[]): LowerBound {
  const bounds = pools.map(poolLowerBound);
  return { seconds: bounds.reduce((s, b) => s + b.seconds, 0), pools: bounds };
}
