/**
 * The order in which a pool's nodes are expected to flow, and why: the plan shows it; the engine admits
 * each next node from the live cluster and may take another (engine/admission.ts).
 *
 * A node is out of service for a whole cycle (drain, then minutes of upgrade), but it holds a budget only
 * for the seconds between an eviction and the replacement pod being Ready. So nodes that share a budget may
 * well be in flight together; what costs time is two of them draining at the same moment, when one of them
 * waits. The order keeps nodes that share a budget apart by the in-flight cap where it can: among the nodes
 * left, the next is the first whose pods the budgets allow beside the evictions of the (maxInFlight − 1)
 * nodes just before it; when none is, the first node left goes anyway (its drain waits seconds for the
 * budget, which beats leaving its slot empty), unless a bounded look-ahead finds an order that needs no
 * such node (see spacedOrder). Nodes of the tightest budgets start first, so the budget
 * that takes longest to work through starts earliest; nodes whose drain a budget blocks go last.
 *
 * Worked example: budget web allows 1 and has a pod on a, b and c; d has none; maxInFlight 2.
 * a goes first; b would evict web beside a, so d goes next; then b (beside d), then c: a, d, b, c.
 */
import type { NodeReason } from './reasons.ts';

export interface BudgetLimit {
  /** namespace/name */
  key: string;
  /** Evictions allowed at once (the budget's current disruptionsAllowed). */
  allowed: number;
}

export interface FlowOrderInput {
  /** The pool's nodes in the order they should go when nothing says otherwise. */
  nodes: readonly string[];
  maxInFlight: number;
  /** Healthy pods the drain of a node evicts, per budget key. */
  evictionsOf: (node: string) => ReadonlyMap<string, number>;
  budgets: ReadonlyMap<string, BudgetLimit>;
  /** Whether the node's pods fit on the other nodes; omit to ignore capacity. */
  fitsAlone?: (node: string) => boolean;
}

export interface FlowOrder {
  nodes: string[];
  /** Per node, why it is where it is or what its drain will meet (only nodes with something to say). */
  reasons: NodeReason[];
  /** False when a node's own pods exceed a budget (its drain waits for replacements, or for ever). */
  respectsBudgets: boolean;
  /** False when a node's pods do not fit on the other nodes. */
  fitsCapacity: boolean;
}

/** Reasons of kind moved-later are kept for this many nodes per pool; the rest are counted. */
const MOVED_REASONS = 20;
/** Clash checks the look-ahead may spend on one pool (a few milliseconds) before the greedy order stands. */
const SEARCH_CHECKS = 2_000;
/** Larger pools keep the greedy order: the search recurses once per node. */
const SEARCH_NODES = 64;

export function flowOrder(input: FlowOrderInput): FlowOrder {
  const window = Math.max(0, Math.floor(input.maxInFlight) - 1);
  const reasons: NodeReason[] = [];
  const last: string[] = [];
  const blocked: string[] = [];
  let respectsBudgets = true;
  let fitsCapacity = true;
  for (const node of input.nodes) {
    for (const [key, pods] of input.evictionsOf(node)) {
      const budget = input.budgets.get(key);
      if (!budget || pods <= budget.allowed) continue;
      respectsBudgets = false;
      if (budget.allowed <= 0) {
        reasons.push({ kind: 'budget-blocks-drain', node, budget: key, pods, allowed: budget.allowed });
        if (!blocked.includes(node)) blocked.push(node);
      } else
        reasons.push({ kind: 'budget-exceeded-alone', node, budget: key, pods, allowed: budget.allowed });
    }
    if (input.fitsAlone && !input.fitsAlone(node)) {
      fitsCapacity = false;
      reasons.push({ kind: 'does-not-fit', node });
      if (!last.includes(node)) last.push(node);
    }
  }
  const atTheEnd = new Set([...blocked, ...last]);
  const ranked = tightestFirst(
    input.nodes.filter((n) => !atTheEnd.has(n)),
    input,
  );
  const { order, moved } = spacedOrder(ranked, window, input);
  for (const m of moved.slice(0, MOVED_REASONS)) reasons.push({ kind: 'moved-later', ...m });
  if (moved.length > MOVED_REASONS)
    reasons.push({ kind: 'more-moved-later', nodes: moved.length - MOVED_REASONS });
  return {
    nodes: [...order, ...last.filter((n) => !blocked.includes(n)), ...blocked],
    reasons,
    respectsBudgets,
    fitsCapacity,
  };
}

/**
 * Among the nodes left, the next is the first that clashes with none of the `window` nodes before it; when
 * none is, the first node left goes anyway. That greedy can spend early the nodes that could have kept two
 * others apart (n0 and n1 share a budget; it takes n3 and n4 first, so n1 has to go beside n0), so when it
 * has to let a clash through, a depth-first search in the same preference order looks for an order with
 * none, within SEARCH_CHECKS clash checks (on pools of up to SEARCH_NODES) so that pools where no such order
 * exists stay fast; failing that, the greedy order stands.
 */
function spacedOrder(ranked: readonly string[], window: number, input: FlowOrderInput): PlacedOrder {
  const greedy = placeInOrder(ranked, window, input);
  if (!greedy.clashed || ranked.length > SEARCH_NODES) return greedy;
  let checks = SEARCH_CHECKS;
  const search = (order: string[], rest: readonly string[]): string[] | undefined => {
    if (rest.length === 0) return order;
    const usage = usageOf(order.slice(Math.max(0, order.length - window)), input);
    for (let i = 0; i < rest.length; i++) {
      if (--checks < 0) return undefined;
      if (clash(rest[i]!, usage, input) !== undefined) continue;
      const found = search([...order, rest[i]!], [...rest.slice(0, i), ...rest.slice(i + 1)]);
      if (found || checks < 0) return found;
    }
    return undefined;
  };
  const found = search([], ranked);
  return found ? placeInOrder(ranked, window, input, found) : greedy;
}

interface PlacedOrder {
  order: string[];
  /** Each node passed over for a later one because it would drain beside a recent node on a shared budget. */
  moved: Array<{ node: string; budget: string; beside: string }>;
  /** The greedy had to let a node go beside a recent one on a shared budget (not told for a given order). */
  clashed: boolean;
}

/**
 * Places `ranked` one node at a time: the greedy's choice, or the next of `order` when given (to tell why
 * the nodes before it were passed over).
 */
function placeInOrder(
  ranked: readonly string[],
  window: number,
  input: FlowOrderInput,
  order?: readonly string[],
): PlacedOrder {
  const placed: string[] = [];
  const moved: PlacedOrder['moved'] = [];
  const told = new Set<string>();
  let clashed = false;
  const left = [...ranked];
  // The evictions of the last `window` nodes placed, kept as the window slides (not summed per placement:
  // a pool of 5,000 nodes at 10 % has windows of 499).
  const usage = new Map<string, number>();
  const add = (node: string, sign: 1 | -1) => {
    for (const [key, pods] of input.evictionsOf(node)) usage.set(key, (usage.get(key) ?? 0) + sign * pods);
  };
  while (left.length > 0) {
    let pick = order
      ? left.indexOf(order[placed.length]!)
      : left.findIndex((n) => clash(n, usage, input) === undefined);
    if (pick < 0) {
      pick = 0;
      clashed = true;
    }
    for (const passed of left.slice(0, pick)) {
      const budget = clash(passed, usage, input);
      // Passed over only to keep later nodes apart (the look-ahead's order): nothing to say about it.
      if (budget === undefined || told.has(passed)) continue;
      told.add(passed);
      const recent = placed.slice(Math.max(0, placed.length - window));
      const beside = recent.find((n) => (input.evictionsOf(n).get(budget) ?? 0) > 0) ?? recent[0]!;
      moved.push({ node: passed, budget, beside });
    }
    const node = left.splice(pick, 1)[0]!;
    placed.push(node);
    if (window > 0) add(node, 1);
    if (window > 0 && placed.length > window) add(placed[placed.length - 1 - window]!, -1);
  }
  return { order: placed, moved, clashed };
}

/** Pods the drains of `nodes` evict, per budget. */
function usageOf(nodes: readonly string[], input: FlowOrderInput): Map<string, number> {
  const usage = new Map<string, number>();
  for (const n of nodes)
    for (const [key, pods] of input.evictionsOf(n)) usage.set(key, (usage.get(key) ?? 0) + pods);
  return usage;
}

/** The first budget whose evictions, with `node`'s, would exceed what it allows; undefined when none. */
function clash(node: string, usage: ReadonlyMap<string, number>, input: FlowOrderInput): string | undefined {
  for (const [key, pods] of input.evictionsOf(node)) {
    const budget = input.budgets.get(key);
    const used = usage.get(key) ?? 0;
    if (!budget || pods === 0 || used === 0) continue;
    if (used + pods > budget.allowed) return key;
  }
  return undefined;
}

/**
 * Nodes of the budgets whose pods take longest to work through (pods ÷ allowed) first; otherwise in the
 * order given (the sort is stable).
 */
function tightestFirst(nodes: readonly string[], input: FlowOrderInput): string[] {
  const pods = new Map<string, number>();
  for (const node of nodes)
    for (const [key, n] of input.evictionsOf(node)) pods.set(key, (pods.get(key) ?? 0) + n);
  const weight = (node: string): number => {
    let most = 0;
    for (const [key, n] of input.evictionsOf(node)) {
      const budget = input.budgets.get(key);
      if (!budget || n === 0 || budget.allowed <= 0) continue;
      most = Math.max(most, (pods.get(key) ?? 0) / budget.allowed);
    }
    return most;
  };
  const ranked = nodes.map((node, index) => ({ node, index, weight: weight(node) }));
  ranked.sort((a, b) => b.weight - a.weight || a.index - b.index);
  return ranked.map((r) => r.node);
}
