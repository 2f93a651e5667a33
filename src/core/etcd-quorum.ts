/**
 * etcd quorum arithmetic: the one copy of the rule that says how many members may be down at once, used by
 * the policy (an `etcd:` section it cannot roll safely is refused), the planner (members one at a time), the
 * engine (a member's restart waits for every other member) and kubeadm's stacked members (kube/etcd-health.ts).
 *
 * Note: a worked example. 3 members: quorum 2, so 1 may be down; with one already unhealthy, taking another
 * down leaves 1 of 3 and etcd stops committing writes. 5 members: quorum 3, 2 may be down. 2 members: quorum
 * 2, none may be down, which is why a 2-member cluster is worse than one.
 */

/** The members etcd needs healthy to commit: a majority. */
export function quorumOf(members: number): number {
  return Math.floor(members / 2) + 1;
}

/** How many members may be down with the rest still a quorum (3 → 1, 5 → 2, 1 or 2 → 0). */
export function faultToleranceOf(members: number): number {
  return Math.max(0, members - quorumOf(members));
}

/**
 * Why taking `atOnce` members of a `members`-member cluster down together loses quorum, or undefined when
 * the rest still commit. What a plan that rolls the members must never do.
 */
export function quorumLossOf(members: number, atOnce: number): string | undefined {
  const tolerance = faultToleranceOf(members);
  if (atOnce <= tolerance) return undefined;
  const quorum = quorumOf(members);
  const tolerates =
    tolerance === 0 ? 'tolerate no member down' : `tolerate ${tolerance} member(s) down at once`;
  return `${members} member(s) ${tolerates} (quorum needs ${quorum} of ${members}): taking ${atOnce} down for an upgrade would leave ${Math.max(0, members - atOnce)} and stop etcd`;
}

/** A member as a health check saw it. */
export interface MemberHealth {
  name: string;
  healthy: boolean;
  /** What is wrong when unhealthy, e.g. "NotReady (ContainersNotReady)" or "connection refused". */
  detail: string;
}

/** How a caller names its members in a refusal: stacked members are "etcd on cp-1", external ones "etcd member etcd-a". */
export interface MemberWording {
  member(name: string): string;
  /** What taking the member down is, e.g. "upgrading cp-1". */
  action: string;
}

/**
 * Before `name` goes down: every other member must be healthy, or the cluster may lose quorum while it is
 * down (3 members with one unhealthy: taking another down leaves 1 of 3). Returns what is wrong, or undefined.
 * Note: the member itself may be unhealthy (a run resumed while it was down for its own upgrade).
 * Note: a single-member etcd is down during its own upgrade whatever is checked; refusing that is the
 * policy's call (quorumLossOf), not this check's.
 */
export function memberDownProblem(
  members: readonly MemberHealth[],
  name: string,
  words: MemberWording,
): string | undefined {
  const sick = members.filter((m) => m.name !== name && !m.healthy);
  if (sick.length === 0) return undefined;
  const left = members.filter((m) => m.name !== name && m.healthy).length;
  const quorum = quorumOf(members.length);
  // Note: strict even when a quorum would remain (5 members, 1 sick): one more failure during the upgrade
  // must not be what stops etcd.
  const margin =
    left < quorum
      ? `quorum needs ${quorum}`
      : `quorum needs ${quorum}, and a member goes down only while every other one is healthy`;
  return (
    `${sick.map((m) => `${words.member(m.name)} is not healthy (${m.detail})`).join(', ')}: ` +
    `${words.action} now would leave ${left} of ${members.length} member(s) healthy, ${margin}`
  );
}
