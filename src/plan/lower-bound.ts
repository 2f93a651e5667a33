/**
 * How long a pool's nodes take to flow through under one policy, by one rule used twice:
 * - with the nodes' cycles at their fastest (physical minimums: the fastest drain an earlier run measured,
 *   then a node's upgrade and return to Ready; never a drain estimate), it is the pool's physical lower
 *   bound — no correct run can take less, so a plan's node phase and a run's are compared with the best
 *   possible (poolLowerBound);
 * - with the cycles the plan expects (drain + upgrade), it is a wave's estimate (pool-waves.ts).
 *
 * Note: the arithmetic, per pool (pools go one after another, as the plan runs them: the bound is the least
 * this plan's order can take, not the least any order can — a loop over the whole cluster that takes nodes of
 * several pools at once can beat it, as fixed concurrency 4 does on the demo cluster in bench/compare-peers.ts;
 * pools that policy.poolConcurrency lets flow side by side count together: togetherLowerBound):
 *   in flight   ≥ ceil(nodes / maxInFlight) × cycle   — at most maxInFlight nodes are out at once and each is
 *                                                        out for one cycle; maxInFlight is already lowered
 *               ≥ ceil(Σ cycles / maxInFlight)          where the pods would not fit (the capacity limit);
 *               ≥ the longest cycle                  — when cycles differ (a node two minors behind is
 *                                                        upgraded twice: one provider call per minor), the
 *                                                        first line takes the shortest;
 *   budget b    ≥ (ceil(pods_b / allowed_b) − 1)      — a budget frees a disruption only when an evicted pod's
 *                   × podStartup + cycle                 replacement is Ready, so its pods leave in groups of
 *                                                        allowed_b, one start-up apart; the node of the last
 *                                                        group still has its own cycle to go (the shortest).
 *   pool        ≥ setup + the largest of these   — setup: what must happen before the first node can go, once
 *                                                        (blue-green's green pool booting; its blue nodes' cycle
 *                                                        is then their drain alone).
 * Why the fastest cycle counts a drain: a node cannot go down for its upgrade before its evicted pods have
 * stopped, and they stop in their own time (a server draining its connections) even when every eviction is
 * accepted at once and they stop in parallel. That time is not in the policy (its `nodeDrain` is an estimate
 * with budget waits, minutes by default, and a padded one must not lift the floor), nor in the cluster's
 * objects (a pod's grace period is only the most it may take). It is known once a run has measured it: the
 * fastest drain an earlier run saw on the pool, rounded down (store/measured-history.ts), as the fastest
 * upgrade is (and, as there, no more than the policy's `nodeDrain`: a rehearsal's pods stop in it); without
 * a measurement it counts 0. A sandbox or a rehearsal
 * whose pods' stop time is known can give it the same way (bench/compare-peers.ts does).
 * Worked example: 24 nodes, 4 in flight, a 40 s cycle → 6 × 40 = 240 s; budget web allows 1, its 30 pods
 * start in 5 s → 29 × 5 + 40 = 185 s. The pool takes at least 240 s, set by the in-flight cap. A budget that
 * allows 0 is counted as allowing 1 (its pods cannot leave faster once they recover) and flagged, since the
 * real time then depends on how fast they become healthy.
 */
export interface PoolBoundInput {
  pool: string;
  nodes: number;
  /** Nodes out at once: the policy's limit, less where the pods would not fit (see capacityLimited). */
  maxInFlight: number;
  /** maxInFlight is below the policy's limit because the evicted pods would not fit. */
  capacityLimited?: boolean;
  /** Before the first node can go, once: blue-green's green pool booting. */
  setupSeconds?: number;
  /** One node out of service (the shortest, when the nodes' cycles differ). */
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
  /** blue-green: the green pool's boot before the first drain, counted once in `seconds`. */
  setupSeconds?: number;
  seconds: number;
}

export interface LowerBound {
  seconds: number;
  pools: PoolLowerBound[];
  /**
   * policy.poolConcurrency: pools flowing side by side count once, together (togetherLowerBound), instead of
   * one after another. Absent when every pool goes alone.
   */
  together?: TogetherLowerBound[];
}

/** Pools flowing side by side under a run-wide cap: their floor together. */
export interface TogetherLowerBound {
  pools: string[];
  maxInFlight: number;
  /** ceil(Σ their nodes' fastest cycles / maxInFlight): the run-wide cap's floor. */
  capSeconds: number;
  /** The largest of capSeconds and each pool's own bound (its own cap and budgets still hold). */
  seconds: number;
}

/** The rule (see the header) over `input`'s cycles: the pool's bound with fastest cycles, an estimate with expected ones. */
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
    const groups = Math.ceil(b.pods / Math.max(1, b.allowed));
    const seconds = Math.ceil((groups - 1) * input.podStartupSeconds + input.cycleSeconds);
    if (
      !tightest ||
      seconds > tightest.seconds ||
      (seconds === tightest.seconds && b.budget < tightest.budget)
    )
      tightest = { budget: b.budget, pods: b.pods, allowed: b.allowed, seconds };
  }
  const byBudget = tightest !== undefined && tightest.seconds > inFlightSeconds;
  const setup = input.nodes > 0 ? (input.setupSeconds ?? 0) : 0;
  const result: PoolLowerBound = {
    pool: input.pool,
    nodes: input.nodes,
    maxInFlight: input.maxInFlight,
    inFlightSeconds,
    limitedBy: byBudget ? 'budget' : input.capacityLimited ? 'capacity' : 'in-flight',
    budgetAllowsNone,
    ...(setup > 0 ? { setupSeconds: setup } : {}),
    seconds: setup + (byBudget ? tightest!.seconds : inFlightSeconds),
  };
  if (byBudget) result.tightestBudget = tightest;
  return result;
}

/**
 * Pools that flow side by side (indexes into `pools`) under a run-wide cap: each still takes at least its
 * own bound, and all of them together put their nodes' cycles through at most `maxInFlight` slots at once,
 * so the group takes at least ceil(Σ cycles / maxInFlight). Both are floors; so is the larger.
 */
export function togetherLowerBound(
  pools: readonly PoolBoundInput[],
  members: readonly number[],
  maxInFlight: number,
): TogetherLowerBound {
  const inputs = members.map((i) => pools[i]!);
  const cycles = inputs.reduce((s, p) => s + (p.totalCycleSeconds ?? p.nodes * p.cycleSeconds), 0);
  const capSeconds = Math.ceil(cycles / Math.max(1, maxInFlight));
  const own = Math.max(0, ...inputs.map((p) => poolLowerBound(p).seconds));
  return { pools: inputs.map((p) => p.pool), maxInFlight, capSeconds, seconds: Math.max(capSeconds, own) };
}

/** Pools one after another, but those of each group in `together` (indexes into `pools`) side by side. */
export function lowerBound(
  pools: readonly PoolBoundInput[],
  together: ReadonlyArray<{ members: readonly number[]; maxInFlight: number }> = [],
): LowerBound {
  const bounds = pools.map(poolLowerBound);
  const grouped = new Set(together.flatMap((g) => g.members));
  const groups = together.map((g) => togetherLowerBound(pools, g.members, g.maxInFlight));
  const alone = bounds.filter((_, i) => !grouped.has(i)).reduce((s, b) => s + b.seconds, 0);
  const seconds = alone + groups.reduce((s, g) => s + g.seconds, 0);
  return { seconds, pools: bounds, ...(groups.length > 0 ? { together: groups } : {}) };
}
