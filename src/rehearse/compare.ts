/**
 * `rehearse --compare`: the same rehearsal under other values of maxUnavailable, and the fastest that keeps
 * every budget. A value replaces the policy's `defaults.maxUnavailable` and every pool's own, so each
 * rehearsal runs the whole cluster at that pace.
 */
import { type IntOrString, isValidIntOrPercent, isZeroIntOrPercent } from '../core/index.ts';
import type { Policy } from '../plan/index.ts';
import { type RehearsalReport, type RehearseOptions, rehearse } from './rehearse.ts';

export interface RehearsalComparison {
  version: 1;
  entries: Array<{ maxUnavailable: IntOrString; report: RehearsalReport }>;
  /** The fastest (median total) value whose runs all finished and kept every budget; null when none did. */
  recommended: IntOrString | null;
}

/** "1,2,10%" → [1, 2, "10%"]; throws a message naming the bad value. */
export function parseCompareValues(text: string): IntOrString[] {
  const values = text.split(',').map((part) => {
    const t = part.trim();
    const value: IntOrString = /^\d+$/.test(t) ? Number(t) : t;
    if (!isValidIntOrPercent(value) || isZeroIntOrPercent(value))
      throw new Error(`"${t}" is not a maxUnavailable: a whole number or a percent above 0, e.g. 2 or 10%`);
    return value;
  });
  if (values.length === 0) throw new Error('no value given');
  return values;
}

export function withMaxUnavailable(policy: Policy, value: IntOrString): Policy {
  return {
    ...policy,
    defaults: { ...policy.defaults, maxUnavailable: value },
    pools: policy.pools.map((p) => (p.maxUnavailable === undefined ? p : { ...p, maxUnavailable: value })),
  };
}

export async function compareRehearsals(
  options: RehearseOptions,
  values: readonly IntOrString[],
): Promise<RehearsalComparison> {
  const entries: RehearsalComparison['entries'] = [];
  for (const value of values)
    entries.push({
      maxUnavailable: value,
      report: await rehearse({ ...options, policy: withMaxUnavailable(options.policy, value) }),
    });
  const keeping = entries.filter(
    (e) => e.report.outcome.finishes && e.report.violations === 0 && e.report.total,
  );
  keeping.sort((a, b) => a.report.total!.medianSeconds - b.report.total!.medianSeconds);
  return { version: 1, entries, recommended: keeping[0]?.maxUnavailable ?? null };
}
