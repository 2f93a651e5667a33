/**
 * Which node of a wave goes next when a slot frees, from the cluster as it is now: a rule a careful operator
 * applies by eye, made exact.
 *
 * For each budget a candidate's drain would evict pods of:
 *   contended   another in-flight drain still has pods of that budget to evict (evictions the API has not
 *               accepted yet), and the budget's allowed disruptions do not cover both: the candidate's drain
 *               would wait on that other drain;
 *   recovering  nobody in flight will evict from it, but it allows no disruption now (replacements of
 *               earlier evictions are not Ready yet, or it never allows any): the drain waits for it;
 *   clear       otherwise: every eviction can go through now.
 * Each budget also gives an estimate of how long the candidate's drain would wait on it: a disruption comes
 * back when an evicted pod's replacement is Ready, so the evictions queued on the budget beyond what it
 * allows now (the drains' in flight first, then the candidate's) are served one per recovery, the first one
 * when the budget's next disruption is due back. Budgets recover in parallel: the candidate's wait is the
 * longest of its budgets'.
 * The candidate with the shortest wait goes; a clear one waits nothing, so it always beats the others. Ties
 * go to clear, then recovering, then contended; then, when other slots are free now (`slotsFree` above 1), to
 * the one after which the most other candidates are still clear (see below); then to the one holding pods of
 * the budget with the most pods left on the wave's nodes still waiting (when they were all read): a budget
 * with k pods left needs
 * k − 1 recoveries between its last evictions, however many nodes are free, so the nodes holding them go
 * early, not last one behind the other; then to the one with the fewest evictions queued ahead of its own
 * (over all its contended budgets, the pods the drains in flight and its own would evict beyond what the
 * budget allows); then the plan's order. A contended candidate is still taken when nothing better is there:
 * its drain then waits seconds for a budget while its slot would otherwise stay empty for a whole node cycle.
 *
 * Slots free together (a wave's start, nodes that finish together) are filled one choice after another at the
 * same instant, and each choice's drain takes the budgets the next choices are judged against: a node sharing
 * budgets with many others, taken first, can leave no clear candidate for the other slots, so one of them
 * drains waiting on it although two nodes sharing nothing were there. Taking first the candidate that leaves
 * the most others clear is the greedy rule for the largest set of nodes that can all drain at once. With one
 * slot free it says nothing: the next choice comes later, against drains that have moved on. Note: on a real
 * cluster slots free together at every wave's start (after its gate and soak) and whenever nodes of the same
 * image finish together; a drain that waits there holds its node cordoned for nothing.
 * The Eviction API stays the final word; this only orders the candidates.
 *
 * Worked example: web allows 1 and node a (in flight) has yet to evict its web pod. Candidates in order:
 * b (a web pod), c (an api pod, api allows 0 now), d (no budget). b is contended, c recovering, d clear:
 * d goes, and the run records that b and c were passed over and why. Without d: web recovers 30 s after
 * a's eviction, one disruption at a time, so b waits 30 s; api's disruption is due back in 10 s, so c waits
 * 10 s and goes.
 */

export interface AdmissionCandidate {
  node: string;
  /** Pods its drain would evict, per budget (namespace/name) selecting them. */
  evictions: ReadonlyMap<string, number>;
}

export interface AdmissionInput {
  /** In the plan's order. */
  candidates: readonly AdmissionCandidate[];
  /** Each budget's disruptionsAllowed as its status says now (a budget not listed allows none). */
  allowed: ReadonlyMap<string, number>;
  /** Per budget, the pods that drains already in flight have yet to evict (evictions not accepted yet). */
  draining: ReadonlyMap<string, number>;
  /**
   * Per budget, ms for one disruption to come back after an eviction (its replacement Ready). Without an
   * entry, `defaultRecoveryMs`; with neither, every wait is 0 and only the kinds and queues order.
   */
  recoveryMs?: ReadonlyMap<string, number>;
  defaultRecoveryMs?: number;
  /** Per budget allowing none now, ms until its next disruption is due back; without an entry, a whole recovery. */
  dueBackMs?: ReadonlyMap<string, number>;
  /**
   * Per budget, its pods on all the candidates (when every waiting node was read): the more a budget has
   * left, the longer its pods take to leave one recovery apart, so on equal waits its nodes go first.
   */
  left?: ReadonlyMap<string, number>;
  /** Slots free now, this choice's included: above 1, the next choices follow at once, against this one's drain. */
  slotsFree?: number;
}

/** `waitMs`: how long its drain is expected to wait on budgets (the longest of its budgets' waits). */
export type AdmissionVerdict =
  | { kind: 'clear' }
  | { kind: 'recovering'; budget: string; waitMs: number }
  /** `queued`: evictions beyond what its contended budgets allow, the candidate's own included. */
  | { kind: 'contended'; budget: string; queued: number; waitMs: number };

export interface AdmissionChoice {
  node: string;
  verdict: AdmissionVerdict;
  /** Candidates before it in the plan's order, passed over, and why. */
  passedOver: Array<{ node: string; verdict: AdmissionVerdict }>;
}

export function judgeCandidate(candidate: AdmissionCandidate, input: AdmissionInput): AdmissionVerdict {
  let recovering: string | undefined;
  let contended: string | undefined;
  let queued = 0;
  let waitMs = 0;
  for (const [budget, pods] of candidate.evictions) {
    if (pods <= 0) continue;
    const allowed = input.allowed.get(budget) ?? 0;
    const draining = input.draining.get(budget) ?? 0;
    if (draining > 0 && allowed - draining < pods) {
      contended ??= budget;
      queued += draining + pods - Math.max(0, allowed);
    } else if (allowed <= 0) recovering ??= budget;
    waitMs = Math.max(waitMs, budgetWaitMs(budget, draining + pods, allowed, input));
  }
  if (contended !== undefined) return { kind: 'contended', budget: contended, queued, waitMs };
  return recovering === undefined ? { kind: 'clear' } : { kind: 'recovering', budget: recovering, waitMs };
}

/**
 * How long the last of `evictions` on the budget waits: those beyond what it allows now are served one per
 * recovery, the first when its next disruption is due back (a whole recovery after the evictions it allows
 * now, which take what it has).
 */
function budgetWaitMs(budget: string, evictions: number, allowed: number, input: AdmissionInput): number {
  const now = Math.max(0, allowed);
  if (evictions <= now) return 0;
  const recovery = input.recoveryMs?.get(budget) ?? input.defaultRecoveryMs ?? 0;
  const first = now > 0 ? recovery : Math.min(recovery, input.dueBackMs?.get(budget) ?? recovery);
  return first + (evictions - now - 1) * recovery;
}

/** Undefined only when there is no candidate. */
export function chooseNextNode(input: AdmissionInput): AdmissionChoice | undefined {
  const together = (input.slotsFree ?? 1) > 1;
  const judged = input.candidates.map((c) => ({
    node: c.node,
    verdict: judgeCandidate(c, input),
    critical: criticalOf(c, input),
    leavesClear: together ? clearAfter(c, input) : 0,
  }));
  let at = -1;
  for (const [i, j] of judged.entries()) if (at < 0 || better(j, judged[at]!)) at = i;
  if (at < 0) return undefined;
  const { node, verdict } = judged[at]!;
  return {
    node,
    verdict,
    passedOver: judged.slice(0, at).map((j) => ({ node: j.node, verdict: j.verdict })),
  };
}

const RANK: Record<AdmissionVerdict['kind'], number> = { clear: 0, recovering: 1, contended: 2 };

type Judged = { verdict: AdmissionVerdict; critical: number; leavesClear: number };

/**
 * Strictly better: a shorter wait, then a better kind (a clear candidate is certain, a budget due back now
 * only expected), then more other candidates left clear (0 for all with one slot free), then pods of a budget
 * with more pods left, then fewer evictions queued (the plan's order breaks ties).
 */
function better(a: Judged, b: Judged): boolean {
  if (waitOf(a.verdict) !== waitOf(b.verdict)) return waitOf(a.verdict) < waitOf(b.verdict);
  if (RANK[a.verdict.kind] !== RANK[b.verdict.kind]) return RANK[a.verdict.kind] < RANK[b.verdict.kind];
  if (a.leavesClear !== b.leavesClear) return a.leavesClear > b.leavesClear;
  if (a.critical !== b.critical) return a.critical > b.critical;
  return queuedOf(a.verdict) < queuedOf(b.verdict);
}

/** How many of the other candidates are still clear once the candidate's drain counts as in flight. */
function clearAfter(chosen: AdmissionCandidate, input: AdmissionInput): number {
  const draining = new Map(input.draining);
  for (const [budget, pods] of chosen.evictions)
    if (pods > 0) draining.set(budget, (draining.get(budget) ?? 0) + pods);
  const after = { ...input, draining };
  let clear = 0;
  for (const c of input.candidates) if (c !== chosen && judgeCandidate(c, after).kind === 'clear') clear++;
  return clear;
}

/** The most pods any of the candidate's budgets has left on the candidates; 0 when unknown. */
function criticalOf(candidate: AdmissionCandidate, input: AdmissionInput): number {
  let most = 0;
  for (const budget of candidate.evictions.keys()) most = Math.max(most, input.left?.get(budget) ?? 0);
  return most;
}

function waitOf(verdict: AdmissionVerdict): number {
  return verdict.kind === 'clear' ? 0 : verdict.waitMs;
}

function queuedOf(verdict: AdmissionVerdict): number {
  return verdict.kind === 'contended' ? verdict.queued : 0;
}
