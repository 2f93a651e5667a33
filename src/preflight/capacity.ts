import { capacityModelOf } from '../core/capacity.ts';
import { CONTROL_PLANE_POOL, clusterModelOf, resolvePools } from '../core/cluster-model.ts';
import { nodesAtOnce } from '../core/intorstr.ts';
import { formatBytes, formatCpu } from '../core/quantity.ts';
import type { Finding, PreflightCheck } from './finding.ts';

/**
 * `capacity`: per pool, whether the rest of the cluster can take the pods of the largest batch the policy
 * allows (maxUnavailable nodes, the busiest ones). A single node that cannot be absorbed is a blocker; a full
 * batch that cannot is a warning because the planner then forms smaller batches.
 */
export const checkCapacity: PreflightCheck = (snapshot, _target, options) => {
  const model = clusterModelOf(snapshot, options.poolLabel);
  const capacity = capacityModelOf(model);
  const findings: Finding[] = [];
  for (const [pool, nodes] of resolvePools(model, options.pools)) {
    if (pool === CONTROL_PLANE_POOL) continue;
    const setting =
      options.pools?.find((p) => p.name === pool)?.maxUnavailable ?? options.defaults?.maxUnavailable;
    const size = nodesAtOnce(setting, nodes.length);
    const busiest = nodes
      .map((n) => ({ name: n.name, cpu: capacity.check([n.name]).demand.cpuMillis }))
      .sort((a, b) => b.cpu - a.cpu);
    const single = capacity.check([busiest[0]!.name]);
    if (!single.fits) {
      const s = single.shortfalls[0]!;
      findings.push({
        id: 'capacity',
        severity: 'blocker',
        subject: { kind: 'Node', name: busiest[0]!.name },
        message:
          `pool ${pool}: the pods on ${busiest[0]!.name} do not fit on the other nodes (${s.group}: need ` +
          `${formatCpu(s.demand.cpuMillis / 1000)} CPU, ${formatBytes(s.demand.memoryBytes)}, ${s.demand.pods} pods; ` +
          `free ${formatCpu(s.free.cpuMillis / 1000)} CPU, ${formatBytes(s.free.memoryBytes)}, ${s.free.pods} pods)`,
        fix: 'add nodes (or use a surge strategy with maxSurge ≥ 1) before upgrading this pool',
      });
      continue;
    }
    if (size <= 1) continue;
    const batch = busiest.slice(0, size).map((b) => b.name);
    const verdict = capacity.check(batch);
    if (!verdict.fits) {
      const s = verdict.shortfalls[0]!;
      findings.push({
        id: 'capacity',
        severity: 'warning',
        subject: { kind: 'NodePool', name: pool },
        message:
          `a batch of ${size} nodes (maxUnavailable) does not fit: ${s.group} need ${formatCpu(s.demand.cpuMillis / 1000)} CPU ` +
          `and ${formatBytes(s.demand.memoryBytes)}, the other nodes have ${formatCpu(s.free.cpuMillis / 1000)} CPU and ${formatBytes(s.free.memoryBytes)} free`,
        fix: 'the plan will use smaller batches (slower); add capacity or maxSurge to keep the batch size',
      });
    }
  }
  return findings;
};
