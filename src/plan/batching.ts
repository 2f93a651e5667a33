/**
 * Groups a pool's nodes into batches that are drained together.
 *
 * A batch never holds more than `maxNodes` nodes. A node joins the batch only if, for every
 * PodDisruptionBudget, the healthy pods the whole batch would evict stay within what the budget allows now,
 * and the evicted pods still fit on the other nodes. Greedy first-fit in node order: nodes that do not fit
 * the current batch are deferred to a later one.
 *
 * Note: a node whose own pods exceed a budget can never satisfy it. With 2 pods of a budget that allows 1 it
 * may still share a batch with nodes that do not touch that budget (the eviction API makes its drain evict
 * one pod at a time); the batch is flagged. With any pod of a budget that allows 0 it gets a batch of its
 * own, flagged: its drain waits for the budget or times out as drain.onTimeout says.
 *
 * Worked example: budget web-pdb allows 1; nodes a, b, c each host one web pod; maxNodes 2.
 * Batch 1 takes a, then b would make web-pdb's evictions 2 > 1, so b is deferred, c likewise → [a].
 * Batch 2 → [b], batch 3 → [c]. With maxNodes 2 and no budget it would be [a, b], [c].
 *
 * First-fit fills each batch before starting the next, which can strand nodes in one batch too many when
 * the budgets are tight (see spreadBatches); then the nodes are spread over fewer batches instead.
 */
import { poolLowerBound } from './lower-bound.ts';

export interface BudgetLimit {
  /** namespace/name */
  key: string;
  /** Evictions allowed at once (the budget's current disruptionsAllowed). */
  allowed: number;
}

export interface BatchingInput {
  /** Candidate nodes in the order they should go. */
  nodes: readonly string[];
  maxNodes: number;
  /** Healthy pods the drain of a node evicts, per budget key. */
  evictionsOf: (node: string) => ReadonlyMap<string, number>;
  budgets: ReadonlyMap<string, BudgetLimit>;
  /** Whether the pods of these nodes fit elsewhere; omit to ignore capacity. */
  fits?: (nodes: readonly string[]) => boolean;
  /** How the pool setting is described in reasons, e.g. "maxUnavailable 2". */
  limitName?: string;
}

export interface BudgetUsage {
  budget: string;
  evicted: number;
  allowed: number;
}

/**
 * Why a batch looks as it does, as data: the planner derives its warnings from the kinds, and
 * describeReason (reasons.ts) is the one place that puts them into words.
 */
export type BatchReason =
  /** The batch is as large as the pool's limit allows. */
  | { kind: 'pool-limit'; nodes: number; limit: string }
  /** The last nodes of the pool. */
  | { kind: 'rest-of-pool'; nodes: number }
  /** Smaller than the limit because of the budget or capacity reasons that follow. */
  | { kind: 'constrained'; nodes: number; limit: string }
  /** The nodes were dealt over `rounds` batches; `fewest`: the lower bound's number. */
  | { kind: 'dealt'; nodes: number; rounds: number; fewest: boolean; limit: string }
  | { kind: 'deferred-for-budget'; node: string; budget: string; evicted: number; allowed: number }
  | { kind: 'deferred-for-capacity'; node: string }
  /** The node's own healthy pods exceed a budget allowing some: its drain waits for replacements. */
  | { kind: 'budget-exceeded-alone'; node: string; budget: string; pods: number; allowed: number }
  /** The node gets a batch of its own (the reasons that follow say why). */
  | { kind: 'alone'; node: string }
  /** A budget allowing none (or fewer than the node's pods) blocks the node's drain. */
  | { kind: 'budget-blocks-drain'; node: string; budget: string; pods: number; allowed: number }
  /** The node's pods do not fit on the other nodes. */
  | { kind: 'does-not-fit'; node: string }
  | { kind: 'budget-use'; usage: BudgetUsage[] };

export interface Batch {
  nodes: string[];
  reasons: BatchReason[];
  budgetUsage: BudgetUsage[];
  /** False when a budget is exceeded; only by a single node that exceeds it on its own (see reasons). */
  respectsBudgets: boolean;
  /** False when the evicted pods do not fit on the remaining nodes (only ever a single-node batch). */
  fitsCapacity: boolean;
}

/** The input with its defaults filled in, and whether a node's pods fit elsewhere on their own, asked once. */
interface Resolved extends BatchingInput {
  fits: (nodes: readonly string[]) => boolean;
  limitName: string;
  fitsAlone: (node: string) => boolean;
}

function resolve(input: BatchingInput): Resolved {
  const maxNodes = Math.max(1, Math.floor(input.maxNodes));
  const fits = input.fits ?? (() => true);
  const fitsAloneCache = new Map<string, boolean>();
  const fitsAlone = (node: string) => {
    let ok = fitsAloneCache.get(node);
    if (ok === undefined) {
      ok = fits([node]);
      fitsAloneCache.set(node, ok);
    }
    return ok;
  };
  return { ...input, maxNodes, fits, limitName: input.limitName ?? `maxUnavailable ${maxNodes}`, fitsAlone };
}

function firstFitBatches(input: Resolved): Batch[] {
  const { maxNodes, limitName, fits, fitsAlone } = input;
  const batches: Batch[] = [];
  let remaining = [...input.nodes];
  while (remaining.length > 0) {
    remaining = mostConstrainedFirst(remaining, input);
    const batch: string[] = [];
    const usage = new Map<string, number>();
    const deferred: BatchReason[] = [];
    const overflows: BatchReason[] = [];
    for (const node of remaining) {
      if (batch.length >= maxNodes) break;
      const evictions = input.evictionsOf(node);
      const overAlone = exceededAlone(evictions, input.budgets);
      const blocked = overAlone.find((b) => b.allowed <= 0);
      if (blocked || !fitsAlone(node)) {
        if (batch.length === 0) {
          batches.push(soloBatch(node, evictions, blocked, input.budgets, fitsAlone(node)));
          remaining = remaining.filter((n) => n !== node);
          break;
        }
        continue;
      }
      const over = firstConflict(evictions, usage, input.budgets, overAlone);
      if (over) {
        if (deferred.length < 3) {
          deferred.push({
            kind: 'deferred-for-budget',
            node,
            budget: over.key,
            evicted: (usage.get(over.key) ?? 0) + (evictions.get(over.key) ?? 0),
            allowed: over.allowed,
          });
        }
        continue;
      }
      if (batch.length > 0 && !fits([...batch, node])) {
        if (deferred.length < 3) deferred.push({ kind: 'deferred-for-capacity', node });
        continue;
      }
      batch.push(node);
      for (const [k, n] of evictions) usage.set(k, (usage.get(k) ?? 0) + n);
      for (const b of overAlone) {
        overflows.push(overflowReason(node, evictions, b));
      }
    }
    if (batch.length === 0) continue;
    const taken = new Set(batch);
    remaining = remaining.filter((n) => !taken.has(n));
    const reasons: BatchReason[] = [];
    if (batch.length === maxNodes)
      reasons.push({ kind: 'pool-limit', nodes: batch.length, limit: limitName });
    else if (remaining.length === 0 && deferred.length === 0)
      reasons.push({ kind: 'rest-of-pool', nodes: batch.length });
    else reasons.push({ kind: 'constrained', nodes: batch.length, limit: limitName });
    reasons.push(...deferred, ...overflows);
    const budgetUsage = usageOf(usage, input.budgets);
    if (budgetUsage.length > 0) reasons.push({ kind: 'budget-use', usage: budgetUsage });
    batches.push({
      nodes: batch,
      reasons,
      budgetUsage,
      respectsBudgets: overflows.length === 0,
      fitsCapacity: true,
    });
  }
  return batches;
}

export function buildBatches(given: BatchingInput): Batch[] {
  const input = resolve(given);
  const { fitsAlone } = input;
  const firstFit = firstFitBatches(input);
  // Nodes that get a batch of their own either way: a budget allowing 0, or pods that fit nowhere else.
  const alone = (node: string) =>
    !fitsAlone(node) || exceededAlone(input.evictionsOf(node), input.budgets).some((b) => b.allowed <= 0);
  const solo = firstFit.filter((b) => b.nodes.length === 1 && alone(b.nodes[0]!));
  const shared = firstFit.filter((b) => !solo.includes(b));
  const nodes = shared.flatMap((b) => b.nodes);
  // Note: at most three tries, from the bound up: each can cost a pass over every node per node it places.
  const fewest = fewestRounds(nodes, input);
  for (let rounds = fewest; rounds < Math.min(shared.length, fewest + 3); rounds++) {
    const spread = spreadBatches(nodes, rounds, rounds === fewest, input);
    if (spread) return [...solo, ...spread];
  }
  return firstFit;
}

/**
 * No grouping of `nodes` takes fewer batches than the plan's lower bound for them. Budgets allowing none
 * are left out: their nodes go alone and are not among these.
 */
function fewestRounds(nodes: readonly string[], input: Resolved): number {
  const budgets = [...nodesHosting(nodes, input)].flatMap(([budget, count]) => {
    const allowed = input.budgets.get(budget)?.allowed ?? 0;
    return allowed > 0 ? [{ budget, nodes: count, allowed }] : [];
  });
  return poolLowerBound({ pool: '', nodes: nodes.length, maxNodes: input.maxNodes, roundSeconds: 0, budgets })
    .rounds;
}

/**
 * Deals `nodes` into exactly `rounds` batches, or answers undefined when one does not fit anywhere: each
 * node, most constrained first, joins the smallest batch it can join without breaking a budget, the pool's
 * limit or capacity.
 * Note: a budget that allows k and sits on k × rounds nodes must have exactly k of them in every batch.
 * First-fit fills the first batches with whatever fits, and the nodes it leaves for the end can then clash
 * with each other. Dealing keeps every batch open to every budget for longer. Worked example (a test in
 * batching.test.ts): maxNodes 3, web allows 1 and sits on 4 of 9 nodes, so at least 4 batches; first-fit
 * makes 5, dealing into 4 succeeds. On the bench's 1,000-node pool (999 nodes after the canary, 100 at a
 * time) it is 10 batches instead of 11.
 */
function spreadBatches(
  nodes: readonly string[],
  rounds: number,
  least: boolean,
  input: Resolved,
): Batch[] | undefined {
  const { maxNodes, fits } = input;
  type Bin = { nodes: string[]; usage: Map<string, number> };
  const bins: Bin[] = Array.from({ length: rounds }, () => ({ nodes: [], usage: new Map() }));
  const add = (bin: Bin, node: string, sign: 1 | -1) => {
    if (sign > 0) bin.nodes.push(node);
    else bin.nodes.splice(bin.nodes.indexOf(node), 1);
    for (const [k, n] of input.evictionsOf(node)) bin.usage.set(k, (bin.usage.get(k) ?? 0) + sign * n);
  };
  /** Whether `node` may join `bin` once `leaving` (one of its nodes) has left it. */
  const budgetsAllow = (bin: Bin, node: string, leaving?: string) => {
    const evictions = input.evictionsOf(node);
    let usage: ReadonlyMap<string, number> = bin.usage;
    if (leaving !== undefined) {
      const less = new Map(bin.usage);
      for (const [k, n] of input.evictionsOf(leaving)) less.set(k, (less.get(k) ?? 0) - n);
      usage = less;
    }
    const size = bin.nodes.length - (leaving === undefined ? 0 : 1);
    return (
      size < maxNodes &&
      !firstConflict(evictions, usage, input.budgets, exceededAlone(evictions, input.budgets))
    );
  };
  const fitsWith = (bin: Bin, node: string, leaving?: string) => {
    const members = bin.nodes.filter((n) => n !== leaving);
    return members.length === 0 || fits([...members, node]);
  };
  const join = (node: string): boolean => {
    const bin = [...bins]
      .sort((a, b) => a.nodes.length - b.nodes.length)
      .find((b) => budgetsAllow(b, node) && fitsWith(b, node));
    if (bin) add(bin, node, 1);
    return bin !== undefined;
  };
  /** One swap: `node` takes the place of a node that can move to another batch. */
  const swapIn = (node: string): boolean => {
    for (const bin of bins) {
      for (const out of [...bin.nodes]) {
        if (!budgetsAllow(bin, node, out)) continue;
        const to = bins.find((b) => b !== bin && budgetsAllow(b, out));
        if (!to || !fitsWith(bin, node, out) || !fitsWith(to, out)) continue;
        add(bin, out, -1);
        add(to, out, 1);
        add(bin, node, 1);
        return true;
      }
    }
    return false;
  };
  for (const node of mostConstrainedFirst(nodes, input)) if (!join(node) && !swapIn(node)) return undefined;
  return bins
    .filter((b) => b.nodes.length > 0)
    .map((b) => {
      const budgetUsage = usageOf(b.usage, input.budgets);
      const overflows = b.nodes.flatMap((node) => {
        const evictions = input.evictionsOf(node);
        return exceededAlone(evictions, input.budgets).map((over) => overflowReason(node, evictions, over));
      });
      const reasons: BatchReason[] = [
        { kind: 'dealt', nodes: b.nodes.length, rounds, fewest: least, limit: input.limitName },
        ...overflows,
      ];
      if (budgetUsage.length > 0) reasons.push({ kind: 'budget-use', usage: budgetUsage });
      return {
        nodes: b.nodes,
        reasons,
        budgetUsage,
        respectsBudgets: overflows.length === 0,
        fitsCapacity: true,
      };
    });
}

/**
 * Orders the nodes left so that those of the budgets needing the most rounds go first; otherwise in the
 * order given (the sort is stable).
 *
 * Note: a budget allowing k whose pods sit on r of the nodes left needs at least ceil(r / k) more rounds
 * (see lower-bound.ts). Plain first-fit in name order can leave a round without any node of the tightest
 * budget, and every such round adds one to the plan. Worked example: maxNodes 2; budget web allows 1 and
 * sits on d, e, f; budget api allows 2 and sits on b, d. Name order takes [a, b], [c, d], [e], [f]: 4 rounds.
 * Web first (it needs 3 rounds, api 1) takes [d, a], [e, b], [f, c]: 3 rounds, web's ceil(3 / 1).
 */
function mostConstrainedFirst(nodes: readonly string[], input: BatchingInput): string[] {
  const hosts = nodesHosting(nodes, input);
  const roundsNeeded = (node: string): number => {
    let most = 0;
    for (const [key, n] of input.evictionsOf(node)) {
      const budget = input.budgets.get(key);
      if (!budget || n === 0 || budget.allowed <= 0) continue;
      most = Math.max(most, Math.ceil((hosts.get(key) ?? 0) / budget.allowed));
    }
    return most;
  };
  const ranked = nodes.map((node, index) => ({ node, index, rounds: roundsNeeded(node) }));
  ranked.sort((a, b) => b.rounds - a.rounds || a.index - b.index);
  return ranked.map((r) => r.node);
}

function overflowReason(
  node: string,
  evictions: ReadonlyMap<string, number>,
  budget: BudgetLimit,
): BatchReason {
  return {
    kind: 'budget-exceeded-alone',
    node,
    budget: budget.key,
    pods: evictions.get(budget.key) ?? 0,
    allowed: budget.allowed,
  };
}

/** Budgets this node's own evictions exceed, whatever it is grouped with. */
function exceededAlone(
  evictions: ReadonlyMap<string, number>,
  budgets: ReadonlyMap<string, BudgetLimit>,
): BudgetLimit[] {
  const over: BudgetLimit[] = [];
  for (const [key, n] of evictions) {
    const budget = budgets.get(key);
    if (budget && n > budget.allowed) over.push(budget);
  }
  return over;
}

/**
 * The first budget adding this node would break. A budget the node exceeds on its own is acceptable only if
 * no other node of the batch touches it (the node then has the budget to itself).
 */
function firstConflict(
  evictions: ReadonlyMap<string, number>,
  usage: ReadonlyMap<string, number>,
  budgets: ReadonlyMap<string, BudgetLimit>,
  overAlone: readonly BudgetLimit[],
): BudgetLimit | undefined {
  for (const [key, n] of evictions) {
    const budget = budgets.get(key);
    if (!budget || n === 0) continue;
    const used = usage.get(key) ?? 0;
    if (overAlone.includes(budget) ? used > 0 : used + n > budget.allowed) return budget;
  }
  return undefined;
}

/** Distinct nodes of `nodes` hosting pods of each budget. */
function nodesHosting(nodes: readonly string[], input: BatchingInput): Map<string, number> {
  const hosts = new Map<string, number>();
  for (const node of nodes)
    for (const [key, n] of input.evictionsOf(node)) if (n > 0) hosts.set(key, (hosts.get(key) ?? 0) + 1);
  return hosts;
}

function usageOf(
  usage: ReadonlyMap<string, number>,
  budgets: ReadonlyMap<string, BudgetLimit>,
): BudgetUsage[] {
  return [...usage.entries()]
    .filter(([k, n]) => n > 0 && budgets.has(k))
    .map(([budget, evicted]) => ({ budget, evicted, allowed: budgets.get(budget)!.allowed }))
    .sort((a, b) => a.budget.localeCompare(b.budget));
}

function soloBatch(
  node: string,
  evictions: ReadonlyMap<string, number>,
  over: BudgetLimit | undefined,
  budgets: ReadonlyMap<string, BudgetLimit>,
  fitsAlone: boolean,
): Batch {
  const reasons: BatchReason[] = [{ kind: 'alone', node }];
  if (over) {
    reasons.push({
      kind: 'budget-blocks-drain',
      node,
      budget: over.key,
      pods: evictions.get(over.key) ?? 0,
      allowed: over.allowed,
    });
  }
  const overflowing = exceededAlone(evictions, budgets).filter((b) => b !== over);
  for (const b of overflowing) reasons.push(overflowReason(node, evictions, b));
  if (!fitsAlone) reasons.push({ kind: 'does-not-fit', node });
  return {
    nodes: [node],
    reasons,
    budgetUsage: usageOf(evictions, budgets),
    respectsBudgets: !over && overflowing.length === 0,
    fitsCapacity: fitsAlone,
  };
}
