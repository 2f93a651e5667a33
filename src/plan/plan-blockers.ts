import type { Plan, PlanBlocker } from './plan-types.ts';
import { planId } from './planner.ts';

/**
 * The plan with the preflight blockers found when it was written, and its id computed again: the id covers
 * them, so a plan whose blockers are edited out is refused as edited. No blockers leaves the plan as it is.
 */
export function withPreflightBlockers(plan: Plan, blockers: readonly PlanBlocker[]): Plan {
  if (blockers.length === 0) return plan;
  const blocked: Plan = { ...plan, blockers: [...blockers] };
  blocked.id = planId(blocked);
  return blocked;
}

/** The one sentence every rendering of a blocked plan leads with. */
export function blockedSummary(blockers: readonly PlanBlocker[]): string {
  const n = blockers.length;
  return (
    `preflight found ${n} ${n === 1 ? 'blocker' : 'blockers'} when this plan was written: ` +
    '`apply` stops at its preflight phase until they are fixed (then write a new plan)'
  );
}
