import { faultToleranceOf, fillTemplate, quorumOf } from '../core/index.ts';
import type { EtcdMemberPolicy, EtcdPolicy } from './etcd-policy.ts';
import { phase, seconds, step } from './plan-parts.ts';
import type { PlanPhase, PlanStep } from './plan-types.ts';

/**
 * The etcd phase: the external etcd cluster of policy.etcd rolled one member at a time, before the control
 * plane (kube-apiserver supports the etcd it is upgraded onto, not the other way round). The caller has
 * checked that the cluster can spare a member (etcdQuorumLoss): each step takes one down.
 *
 * Note: the plan lists the members in the policy's order; which one leads is only known live, so the
 * engine takes the followers first and the leader last, and moves leadership away from a member that leads
 * when its turn comes (leadership can change between the plan and the run, or during it).
 */
export function etcdPhase(etcd: EtcdPolicy): PlanPhase {
  const n = etcd.members.length;
  const version = etcd.version;
  const tolerance = etcd.health.raftIndexTolerance;
  const steps: PlanStep[] = etcd.members.map((m, i) =>
    step({
      id: `etcd-${m.name}`,
      kind: 'etcd-member',
      member: m.name,
      endpoint: m.endpoint,
      ...(version ? { version } : {}),
      title: version ? `Upgrade etcd member ${m.name} to ${version}` : `Restart etcd member ${m.name}`,
      reasons: [
        `one member at a time (this is ${i + 1} of ${n} in the plan): ${n} members tolerate ${faultToleranceOf(n)} down (quorum ${quorumOf(n)})`,
        'it starts only once every member is healthy and caught up; followers go first and the leader last, and a member that leads when its turn comes hands leadership to a caught-up member first',
        upgradeWords(etcd, m),
      ],
      checks: [
        `before: every member healthy, its raft index within ${tolerance} of the leader's, and ${m.name} not the leader`,
        `after: ${m.name} healthy again as the same member (its id unchanged), caught up${version ? `, running ${version}` : ''}; every other member still healthy`,
      ],
      rollback: version
        ? `while other members still run the old version, stop ${m.name}, put its previous etcd binary back and start it; once every member runs ${version} the cluster version moves up, and only restoring the snapshot goes back`
        : `nothing to undo: ${m.name} runs as before; one that does not come back is started again from its data directory`,
      estimateSeconds: seconds(etcd.memberEstimate),
    }),
  );
  return phase('etcd', version ? `etcd → ${version}` : 'etcd: rolling restart', steps, {
    ...(version ? { version } : {}),
  });
}

/** The commands as they will run for `member`, placeholders filled, so a reviewer reads what happens. */
function upgradeWords(etcd: EtcdPolicy, member: EtcdMemberPolicy): string {
  const u = etcd.upgrade;
  const values = { member: member.name, endpoint: member.endpoint, version: etcd.version ?? '' };
  const commands = u.command !== undefined ? [u.command] : [u.stop, u.swap, u.start];
  return `the member is upgraded by ${commands
    .filter((c): c is string => c !== undefined)
    .map((c) => `\`${fillTemplate(c, values)}\``)
    .join(', then ')}`;
}
