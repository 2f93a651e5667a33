/**
 * Pools flowing side by side (policy.poolConcurrency; the plan marks them with one PlanPhase.flowGroup):
 * each pool's phase runs as it would alone — its waves in order, each a flow within the pool's own
 * maxInFlight, its gate and soak at the wave's end — while node-flow.ts holds every flow of the run to the
 * run-wide cap. After the canary only: a canary is never in a group.
 *
 * Stopping is shared: a pause, abort or crash reaches every flow through the run context; a pool that
 * fails halts admissions in the others (ctx.admissionsHalted), whose nodes in flight finish, and its failure
 * is the group's once all of them have.
 *
 * Resume: the nodes the store shows admitted and not finished, in any of the group's pools, are reserved
 * against the cap before any pool admits a new node, so they restart first and the cap holds.
 */
import { isNodeWave, type PlanPhase } from '../plan/index.ts';
import { nodeStepEnded } from '../store/index.ts';
import { AdmissionsHaltedError } from './errors.ts';
import type { RunContext } from './run-context.ts';

/** The phases from `start` that flow together with it (just itself when it is in no group). */
export function flowGroupAt(phases: readonly PlanPhase[], start: number): number[] {
  const group = phases[start]?.flowGroup;
  if (group === undefined) return [start];
  const members: number[] = [];
  for (let i = start; i < phases.length && phases[i]!.flowGroup === group; i++) members.push(i);
  return members;
}

/** Runs `runPhase` for each of `members` at once, as the header says. */
export async function runTogether(
  ctx: RunContext,
  members: readonly number[],
  runPhase: (index: number) => Promise<void>,
): Promise<void> {
  for (const i of members)
    for (const node of admittedNotEnded(ctx, ctx.plan.phases[i]!)) ctx.reservedFlight.add(node);
  // Every lane's error, in the order they came: the group's is the first that is not another's halt.
  const errors: unknown[] = [];
  ctx.flowGroupRunning = true;
  const lanes = members.map((i) =>
    runPhase(i).catch((err: unknown) => {
      errors.push(err);
      const pool = ctx.plan.phases[i]!.pool;
      ctx.haltAdmissions(`pool ${pool}: ${err instanceof Error ? err.message : String(err)}`);
    }),
  );
  try {
    await Promise.all(lanes);
  } finally {
    ctx.flowGroupRunning = false;
    ctx.admissionsHalted = undefined;
    ctx.reservedFlight.clear();
  }
  if (errors.length > 0) throw errors.find((e) => !(e instanceof AdmissionsHaltedError)) ?? errors[0];
}

/** Nodes of the phase's waves whose admission the store records and that have not ended. */
function admittedNotEnded(ctx: RunContext, phase: PlanPhase): string[] {
  const nodes: string[] = [];
  for (const step of phase.steps) {
    if (!isNodeWave(step)) continue;
    for (const node of step.nodes) {
      const row = ctx.nodeRow(step.id, node);
      if (row && !nodeStepEnded(row.status)) nodes.push(node);
    }
  }
  return nodes;
}
