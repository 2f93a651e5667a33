/**
 * Rolling an external etcd cluster, the pure parts: what its upgrade commands may say, the order the
 * members go in, and when a member counts as caught up. The quorum rule is etcd-quorum.ts.
 */

/** The placeholders of an etcd member's upgrade commands (policy etcd.upgrade). */
export const ETCD_MEMBER_PLACEHOLDERS = ['member', 'endpoint', 'version'] as const;

/** A member is upgraded by one `command`, or by `stop`, `swap` (optional) and `start`, in this order. */
export const ETCD_UPGRADE_STAGES = ['command', 'stop', 'swap', 'start'] as const;
export type EtcdUpgradeStage = (typeof ETCD_UPGRADE_STAGES)[number];

/**
 * The order to roll `members` in: the followers as given, the leader last, so leadership moves once at most
 * (a leader taken first would hand it to a member that is rolled next, and so on).
 */
export function followersFirst<T>(members: readonly T[], isLeader: (member: T) => boolean): T[] {
  return [...members.filter((m) => !isLeader(m)), ...members.filter(isLeader)];
}

/** One member's raft progress, as its status said. */
export interface EtcdMemberState {
  name: string;
  raftIndex: number;
}

/**
 * The members whose committed raft index trails `leaderIndex` by more than `tolerance` entries, with how far.
 * Note: read the leader's index first and the others after it: a caught-up follower then shows at least the
 * leader's index less what was committed in between, so writes going on during the reads are not mistaken
 * for lag. With tolerance 16, a follower at 980 behind a leader read at 1000 lags (20 > 16); at 990 it does not.
 */
export function laggingMembers(
  leaderIndex: number,
  members: readonly EtcdMemberState[],
  tolerance: number,
): Array<EtcdMemberState & { behind: number }> {
  return members
    .map((m) => ({ ...m, behind: leaderIndex - m.raftIndex }))
    .filter((m) => m.behind > tolerance);
}
