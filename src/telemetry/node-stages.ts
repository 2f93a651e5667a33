/**
 * Where one node is in its upgrade, as the number `midflight_node_stage` reports: the index in this tuple.
 * The dashboards map the numbers back to these names, and the rules compare with them, from this one list.
 */
export const NODE_STAGES = [
  'pending',
  'admitted',
  'cordon',
  'drain',
  'upgrade',
  'verify',
  'uncordon',
  'done',
  'skipped',
  'quarantined',
  'failed',
] as const;
export type NodeStage = (typeof NODE_STAGES)[number];

/** The stages in which the run is doing something to the node (their durations are observed). */
export const ACTIVE_STAGES: readonly NodeStage[] = ['cordon', 'drain', 'upgrade', 'verify', 'uncordon'];

export function nodeStageValue(stage: NodeStage): number {
  return NODE_STAGES.indexOf(stage);
}

/**
 * The stage a `node-changed` event puts a node in. A running node's `activity` names what happens now
 * (`drain`) or what just ended (`drained`); both count as that stage until the next begins. An event
 * without one leaves a running node in the stage it was in.
 */
export function nodeStageOf(
  status: string,
  activity: string | undefined,
  previous: NodeStage | undefined,
): NodeStage {
  switch (status) {
    case 'pending':
      return 'pending';
    case 'done':
    case 'skipped':
    case 'quarantined':
    case 'failed':
      return status;
  }
  switch (activity) {
    case 'cordon':
    case 'cordoned':
      return 'cordon';
    case 'drain':
    case 'drained':
      return 'drain';
    case 'upgrade':
    case 'upgraded':
      return 'upgrade';
    case 'verify':
    case 'verified':
      return 'verify';
    case 'uncordon':
      return 'uncordon';
    case 'admitted':
    case 'start':
      return 'admitted';
    default:
      return previous !== undefined && ACTIVE_STAGES.includes(previous) ? previous : 'admitted';
  }
}
