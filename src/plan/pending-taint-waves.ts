/**
 * Which waves put the pending-upgrade taint (core PENDING_UPGRADE_TAINT_KEY) on the nodes they have still to
 * drain, so that evicted pods prefer nodes already upgraded: one rule for the engine, which taints, and the
 * runbook, which says so (engine/pending-upgrade-taint.ts explains the taint).
 */
import { isNodeWave, type NodeWaveStep, type Plan } from './plan-types.ts';

/**
 * The canary and pool waves, in place or surge (a surge pool's old nodes are drained, then deleted); not
 * blue-green, whose old nodes are all cordoned before its first drain, so a taint would change nothing.
 * None when policy.drain.preferUpgradedNodes is false.
 */
export function wavesTaintingPendingNodes(plan: Pick<Plan, 'policy' | 'phases'>): NodeWaveStep[] {
  if (plan.policy.drain.preferUpgradedNodes === false) return [];
  return plan.phases
    .filter((phase) => phase.kind === 'canary' || phase.kind === 'node-pool')
    .flatMap((phase) => phase.steps)
    .filter((step): step is NodeWaveStep => isNodeWave(step) && !step.replacement?.blueGreen);
}
