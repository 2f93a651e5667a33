import { isHardTaint, type Taint, type Toleration, tolerates } from '../../../core/index.ts';
import type { KubeObject } from '../../store/types.ts';
import { matchesNodeSelectorAndAffinity } from '../sched-predicates.ts';

/** What the DaemonSet controller adds to every daemon pod (k/k pkg/controller/daemon/util). */
export const DAEMONSET_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' },
];

/**
 * Whether a daemon pod should be placed on the node (no untolerated NoSchedule/NoExecute taint) and whether
 * one already there may stay (no untolerated NoExecute taint), as upstream's NodeShouldRunDaemonPod.
 */
export function daemonPlacement(
  node: KubeObject,
  podSpec: KubeObject['spec'],
  tolerations: readonly Toleration[],
): { shouldRun: boolean; shouldContinueRunning: boolean } {
  if (
    node.metadata.deletionTimestamp ||
    !matchesNodeSelectorAndAffinity({ metadata: {}, spec: podSpec }, node)
  ) {
    return { shouldRun: false, shouldContinueRunning: false };
  }
  const taints: Taint[] = node.spec?.taints ?? [];
  const untolerated = taints.filter((t) => isHardTaint(t) && !tolerates(tolerations, t));
  return {
    shouldRun: untolerated.length === 0,
    shouldContinueRunning: !untolerated.some((t) => t.effect === 'NoExecute'),
  };
}
