import type { KubeObject } from '../../store/types.ts';
import { conditionsOf } from '../node-status.ts';

interface PodCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
}

export function readyCondition(pod: KubeObject): PodCondition | undefined {
  return conditionsOf<PodCondition>(pod).find((c) => c?.type === 'Ready');
}

export function isPodReady(pod: KubeObject): boolean {
  return readyCondition(pod)?.status === 'True';
}

export function isTerminating(obj: KubeObject): boolean {
  return Boolean(obj.metadata.deletionTimestamp);
}

/** Succeeded or Failed: the pod's containers will not run again. */
export function isTerminal(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Counts toward a controller's replicas: neither finished nor being deleted. */
export function isActive(pod: KubeObject): boolean {
  return !isTerminating(pod) && !isTerminal(pod);
}

export function isRunningAndReady(pod: KubeObject): boolean {
  return pod.status?.phase === 'Running' && isPodReady(pod);
}

/**
 * When a Ready pod becomes available (Ready for minReadySeconds), in clock milliseconds; undefined when not
 * Ready. A Ready condition without a transition time counts as Ready since forever.
 */
export function availableAt(pod: KubeObject, minReadySeconds: number): number | undefined {
  const ready = readyCondition(pod);
  if (ready?.status !== 'True') return undefined;
  if (!minReadySeconds) return Number.NEGATIVE_INFINITY;
  const since = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : Number.NEGATIVE_INFINITY;
  return since + minReadySeconds * 1000;
}

export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now: number): boolean {
  const at = availableAt(pod, minReadySeconds);
  return at !== undefined && at <= now;
}
