import {
  CONTROL_PLANE_POOL,
  capacityModelOf,
  clusterModelOf,
  formatBytes,
  formatCpu,
  poolInFlightLimit,
  resolvePools,
  surgeCapacityOf,
} from '../core/index.ts';
import type { Finding, PreflightCheck } from './finding.ts';

/**
 * `capacity`: per worker pool, whether the other nodes can take the pods that upgrading it evicts.
 *
 * - Each node alone: a node whose pods fit nowhere else is a blocker (the plan sends it last, and some of its
 *   pods stay Pending until it returns). One finding per pool, naming the nodes.
 * - As many nodes in flight as the policy allows: the number comes from the policy the way the planner
 *   takes it (poolInFlightLimit: maxUnavailable, plus maxSurge with the replace strategy, whose new nodes
 *   add room as they do in the plan), and the worst set of that size it can name cheaply is tested: the
 *   nodes with the most CPU requested. If that does not fit it is a warning: the planner lowers the number
 *   of nodes in flight to what fits (slower), by the same test (core/capacity.ts, maxInFlightThatFits).
 *
 * Worked example: workers w-1..w-3, 4 CPU each, one 1500m pod each, maxUnavailable 2. Any one node fits
 * (1.5 CPU on 5 free); the two busiest do not (3 CPU on the 2.5 free of the third): a warning.
 */
export const checkCapacity: PreflightCheck = (snapshot, _target, options) => {
  const model = clusterModelOf(snapshot, options.poolLabel);
  const capacity = capacityModelOf(model);
  const findings: Finding[] = [];
  for (const [pool, nodes] of resolvePools(model, options.pools)) {
    if (pool === CONTROL_PLANE_POOL || nodes.length === 0) continue;
    const own = options.pools?.find((p) => p.name === pool);
    const limit = poolInFlightLimit(
      {
        maxUnavailable: own?.maxUnavailable ?? options.defaults?.maxUnavailable,
        maxSurge: own?.maxSurge ?? options.defaults?.maxSurge,
        strategy: own?.strategy ?? options.defaults?.strategy,
      },
      nodes.length,
    );
    const extra = surgeCapacityOf(nodes, limit.surge);
    const singles = nodes.map((n) => ({ name: n.name, verdict: capacity.check([n.name], extra) }));
    const stuck = singles.filter((s) => !s.verdict.fits);
    if (stuck.length > 0) {
      const s = stuck[0]!.verdict.shortfalls[0]!;
      const others = stuck.length > 1 ? ` (and ${stuck.length - 1} more: ${namesOf(stuck.slice(1))})` : '';
      findings.push({
        id: 'capacity',
        severity: 'blocker',
        subject: { kind: 'Node', name: stuck[0]!.name },
        message:
          `pool ${pool}: the pods on ${stuck[0]!.name}${others} do not fit on the other nodes (${s.group}: need ` +
          `${formatCpu(s.demand.cpuMillis / 1000)} CPU, ${formatBytes(s.demand.memoryBytes)}, ${s.demand.pods} pods; ` +
          `free ${formatCpu(s.free.cpuMillis / 1000)} CPU, ${formatBytes(s.free.memoryBytes)}, ${s.free.pods} pods)`,
        fix: 'add nodes (or use the replace strategy with maxSurge ≥ 1) before upgrading this pool',
      });
      continue;
    }
    if (limit.maxNodes <= 1) continue;
    const busiest = singles
      .sort((a, b) => b.verdict.demand.cpuMillis - a.verdict.demand.cpuMillis || (a.name < b.name ? -1 : 1))
      .slice(0, limit.maxNodes)
      .map((b) => b.name);
    const verdict = capacity.check(busiest, extra);
    if (!verdict.fits) {
      const s = verdict.shortfalls[0]!;
      const setting = limit.surge > 0 ? 'maxUnavailable + maxSurge' : 'maxUnavailable';
      findings.push({
        id: 'capacity',
        severity: 'warning',
        subject: { kind: 'NodePool', name: pool },
        message:
          `pool ${pool}: ${busiest.length} nodes out at once (${setting}; the busiest: ${namesOf(busiest.map((name) => ({ name })))}) does not fit: ` +
          `${s.group} need ${formatCpu(s.demand.cpuMillis / 1000)} CPU and ${formatBytes(s.demand.memoryBytes)}, ` +
          `the other nodes have ${formatCpu(s.free.cpuMillis / 1000)} CPU and ${formatBytes(s.free.memoryBytes)} free`,
        fix: 'the plan will let fewer nodes into flight at once (slower); add capacity or maxSurge to keep the pace',
      });
    }
  }
  return findings;
};

function namesOf(nodes: ReadonlyArray<{ name: string }>): string {
  const shown = nodes.slice(0, 3).map((n) => n.name);
  return nodes.length > 3 ? `${shown.join(', ')}, …` : shown.join(', ');
}
