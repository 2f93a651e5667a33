/**
 * Which node of a wave goes next when a slot frees, from the cluster as it is now: a rule a careful operator
 * applies by eye, made exact.
 *
 * For each budget a candidate's drain would evict pods of:
 *   contended   another in-flight drain still has pods of that budget to evict, and the budget's allowed
 *               disruptions do not cover both: the candidate's drain would wait on that other drain;
 *   recovering  nobody in flight will evict from it, but it allows no disruption now (replacements of
 *               earlier evictions are not Ready yet, or it never allows any): the drain waits for it;
 *   clear       otherwise: every eviction can go through now.
 * The first clear candidate in the plan's order goes; failing that the first recovering one; failing that
 * the contended one with the fewest evictions queued ahead of its own (over all its contended budgets, the
 * pods the drains in flight and its own would evict beyond what the budget allows): its drain then waits
 * seconds for a budget while its slot would otherwise stay empty for a whole node cycle, and the fewer
 * evictions ahead, the shorter the wait. The Eviction API stays the final word; this only orders the
 * candidates.
 *
 * Worked example: web allows 1 and node a (in flight) has yet to evict its web pod. Candidates in order:
 * b (a web pod), c (an api pod, api allows 0 now), d (no budget). b is contended, c recovering, d clear:
 * d goes, and the run records that b and c were passed over and why.
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
  /** Per budget, the pods that drains already in flight have yet to evict. */
  draining: ReadonlyMap<string, number>;
}

export type AdmissionVerdict =
  | { kind: 'clear' }
  | { kind: 'recovering'; budget: string }
  /** `queued`: evictions beyond what its contended budgets allow, the candidate's own included. */
  | { kind: 'contended'; budget: string; queued: number };

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
  for (const [budget, pods] of candidate.evictions) {
    if (pods <= 0) continue;
    const allowed = input.allowed.get(budget) ?? 0;
    const draining = input.draining.get(budget) ?? 0;
    if (draining > 0 && allowed - draining < pods) {
      contended ??= budget;
      queued += draining + pods - Math.max(0, allowed);
    } else if (allowed <= 0) recovering ??= budget;
  }
  if (contended !== undefined) return { kind: 'contended', budget: contended, queued };
  return recovering === undefined ? { kind: 'clear' } : { kind: 'recovering', budget: recovering };
}

/** Undefined only when there is no candidate. */
export function chooseNextNode(input: AdmissionInput): AdmissionChoice | undefined {
  const judged = input.candidates.map((c) => ({ node: c.node, verdict: judgeCandidate(c, input) }));
  let at = judged.findIndex((j) => j.verdict.kind === 'clear');
  if (at < 0) at = judged.findIndex((j) => j.verdict.kind === 'recovering');
  if (at < 0)
    for (const [i, j] of judged.entries())
      if (at < 0 || queuedOf(j.verdict) < queuedOf(judged[at]!.verdict)) at = i;
  if (at < 0) return undefined;
  return { ...judged[at]!, passedOver: judged.slice(0, at) };
}

function queuedOf(verdict: AdmissionVerdict): number {
  return verdict.kind === 'contended' ? verdict.queued : 0;
}
