/**
 * `rehearse --compare`: the same rehearsal under other ways of upgrading the cluster, and the fastest that
 * keeps every budget. Each value is one of:
 * - a maxUnavailable (`2`, `10%`): Midflight with that pace; it replaces the policy's
 *   `defaults.maxUnavailable` and every pool's own, so each rehearsal runs the whole cluster at that pace;
 * - `surge` or `surge:N`: Midflight replacing every pool's nodes (strategy surge, maxSurge N (1), maxUnavailable
 *   0): new nodes first, from each pool's template on the copy;
 * - `one-at-a-time` and `fixed:N`: the loops people run today (peer-run.ts), one node at a time (kured,
 *   `kops rolling-update`) or N at a time with `kubectl drain` semantics (system-upgrade-controller).
 *
 * Note: the recommendation ranks by the median node phase: the peers upgrade worker nodes only, and the
 * phases before and after the nodes (control plane, add-ons) are the same whatever the pace.
 */
import { type IntOrString, isValidIntOrPercent, isZeroIntOrPercent } from '../core/index.ts';
import type { Policy } from '../plan/index.ts';
import { peerName } from './peer-run.ts';
import { type RehearsalReport, type RehearseOptions, rehearse } from './rehearse.ts';

/** One way of upgrading the cluster that `--compare` rehearses. */
export type CompareMethod =
  | { kind: 'midflight'; maxUnavailable: IntOrString }
  | { kind: 'surge'; maxSurge: number }
  | { kind: 'peer'; concurrency: number };

export interface ComparisonEntry {
  /** The value as `--compare` names it: `2`, `10%`, `surge`, `surge:2`, `one-at-a-time`, `fixed:4`. */
  value: IntOrString;
  method: CompareMethod;
  /** For a maxUnavailable value only (as before methods were added). */
  maxUnavailable?: IntOrString;
  report: RehearsalReport;
}

export interface RehearsalComparison {
  version: 1;
  entries: ComparisonEntry[];
  /** The value of the fastest entry (median node phase) whose runs all finished and kept every budget; null when none did. */
  recommended: IntOrString | null;
}

/** "1,2,10%,surge,fixed:4" → their methods; throws a message naming the bad value. */
export function parseCompareValues(text: string): Array<{ value: IntOrString; method: CompareMethod }> {
  const values = text.split(',').map((part) => {
    const t = part.trim();
    const method = methodOf(t);
    if (!method)
      throw new Error(
        `"${t}" is not a value to compare: a maxUnavailable (a whole number or a percent above 0, e.g. 2 or 10%), surge or surge:N, one-at-a-time, or fixed:N`,
      );
    return { value: method.kind === 'midflight' ? method.maxUnavailable : t, method };
  });
  if (values.length === 0) throw new Error('no value given');
  return values;
}

function methodOf(t: string): CompareMethod | undefined {
  if (t === 'one-at-a-time') return { kind: 'peer', concurrency: 1 };
  const count = (text: string | undefined) =>
    text && /^\d+$/.test(text) && Number(text) > 0 ? Number(text) : 0;
  const fixed = /^fixed:(.*)$/.exec(t);
  if (fixed) return count(fixed[1]) ? { kind: 'peer', concurrency: count(fixed[1]) } : undefined;
  const surge = /^surge(?::(.*))?$/.exec(t);
  if (surge) {
    if (surge[1] === undefined) return { kind: 'surge', maxSurge: 1 };
    return count(surge[1]) ? { kind: 'surge', maxSurge: count(surge[1]) } : undefined;
  }
  const value: IntOrString = /^\d+$/.test(t) ? Number(t) : t;
  if (!isValidIntOrPercent(value) || isZeroIntOrPercent(value)) return undefined;
  return { kind: 'midflight', maxUnavailable: value };
}

/** A method in words: "maxUnavailable 2", "surge (maxSurge 1)", "one node at a time", "fixed concurrency 4". */
export function describeMethod(method: CompareMethod): string {
  if (method.kind === 'midflight') return `Midflight, maxUnavailable ${method.maxUnavailable}`;
  if (method.kind === 'surge') return `Midflight, surge (maxSurge ${method.maxSurge})`;
  return `${peerName(method.concurrency)} (kubectl drain)`;
}

export function withMaxUnavailable(policy: Policy, value: IntOrString): Policy {
  return {
    ...policy,
    defaults: { ...policy.defaults, maxUnavailable: value },
    pools: policy.pools.map((p) => (p.maxUnavailable === undefined ? p : { ...p, maxUnavailable: value })),
  };
}

/**
 * Every pool replaced by surge: maxSurge new nodes at a time, none out before its replacement is Ready. The
 * copy's new nodes come from the sandbox (rehearsal-run.ts), whatever nodeProvider the policy names.
 */
export function withSurge(policy: Policy, maxSurge: number): Policy {
  const surge = { strategy: 'surge' as const, maxSurge, maxUnavailable: 0 };
  return {
    ...policy,
    defaults: { ...policy.defaults, ...surge },
    pools: policy.pools.map((p) => ({ ...p, ...surge })),
    nodeProvider: policy.nodeProvider ?? { kind: 'sandbox' },
  };
}

export async function compareRehearsals(
  options: RehearseOptions,
  values: ReadonlyArray<{ value: IntOrString; method: CompareMethod }>,
): Promise<RehearsalComparison> {
  const entries: ComparisonEntry[] = [];
  for (const { value, method } of values) {
    const run =
      method.kind === 'midflight'
        ? { ...options, policy: withMaxUnavailable(options.policy, method.maxUnavailable) }
        : method.kind === 'surge'
          ? { ...options, policy: withSurge(options.policy, method.maxSurge) }
          : { ...options, peer: { concurrency: method.concurrency } };
    entries.push({
      value,
      method,
      ...(method.kind === 'midflight' ? { maxUnavailable: method.maxUnavailable } : {}),
      report: await rehearse(run),
    });
  }
  const keeping = entries.filter(
    (e) => e.report.outcome.finishes && e.report.violations === 0 && e.report.nodePhase,
  );
  keeping.sort((a, b) => a.report.nodePhase!.medianSeconds - b.report.nodePhase!.medianSeconds);
  return { version: 1, entries, recommended: keeping[0]?.value ?? null };
}
