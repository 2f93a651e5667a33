/**
 * Pod status as a kubelet reports it, as pure functions over a draft: the simulated kubelet and the node
 * lifecycle controller edit pods through these so every writer produces the same shapes.
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from '../store/types.ts';
import { conditionsOf } from './node-status.ts';

export interface PodCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
}

interface ContainerSpec {
  name: string;
  image?: string;
}

export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

/** The object's status, created empty when missing, for writers working on a draft. */
// biome-ignore lint/suspicious/noExplicitAny: status is arbitrary JSON, as KubeObject types it.
export function statusOf(obj: KubeObject): any {
  if (!obj.status) obj.status = {};
  return obj.status;
}

export function isMirrorPod(pod: KubeObject): boolean {
  return pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined;
}

export function isTerminal(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

export function isPodReady(pod: KubeObject): boolean {
  return conditionStatus(pod, 'Ready') === 'True';
}

export function conditionStatus(pod: KubeObject, type: string): string | undefined {
  return conditionsOf<PodCondition>(pod).find((c) => c?.type === type)?.status;
}

export function isDaemonSetPod(pod: KubeObject): boolean {
  return pod.metadata.ownerReferences?.some((ref) => ref.controller && ref.kind === 'DaemonSet') ?? false;
}

/**
 * Sets one condition, keeping lastTransitionTime when the status does not change.
 * Returns whether anything changed.
 */
export function setPodCondition(status: { conditions?: PodCondition[] }, wanted: PodCondition, now: string) {
  status.conditions ??= [];
  const index = status.conditions.findIndex((c) => c.type === wanted.type);
  const existing = index < 0 ? undefined : status.conditions[index]!;
  if (
    existing &&
    existing.status === wanted.status &&
    existing.reason === wanted.reason &&
    existing.message === wanted.message
  ) {
    return false;
  }
  const next: PodCondition = {
    type: wanted.type,
    status: wanted.status,
    lastProbeTime: null,
    lastTransitionTime:
      existing?.status === wanted.status ? existing.lastTransitionTime : (wanted.lastTransitionTime ?? now),
  };
  if (wanted.reason) next.reason = wanted.reason;
  if (wanted.message) next.message = wanted.message;
  if (index < 0) status.conditions.push(next);
  else status.conditions[index] = next;
  return true;
}

/** "docker.io/library/nginx@sha256:…", stable for a given image so repeated starts report the same digest. */
function imageIdOf(image: string): string {
  const repo = image.replace(/[:@][^/]*$/, '');
  return `${repo}@sha256:${sha256(image)}`;
}

function containerIdOf(pod: KubeObject, name: string, restartCount: number): string {
  return `containerd://${sha256(`${pod.metadata.uid}/${name}/${restartCount}`)}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function notReadyMessage(pod: KubeObject): string {
  return `containers with unready status: [${containersOf(pod)
    .map((c) => c.name)
    .join(' ')}]`;
}

/** Whether the kubelet has taken the pod on and is creating its sandbox and containers (pulling images). */
export function isContainerCreating(pod: KubeObject): boolean {
  return pod.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating';
}

/**
 * The kubelet has taken the bound pod on: phase still Pending, containers waiting with reason
 * ContainerCreating while the sandbox is set up and images are pulled (what `kubectl get pods` shows as
 * ContainerCreating), not Ready.
 */
export function markContainersCreating(pod: KubeObject, opts: { now: string; hostIP: string }): void {
  const status = statusOf(pod);
  status.phase = 'Pending';
  status.hostIP = opts.hostIP;
  status.hostIPs = [{ ip: opts.hostIP }];
  status.startTime ??= opts.now;
  status.containerStatuses = containersOf(pod).map((c) => ({
    name: c.name,
    state: { waiting: { reason: 'ContainerCreating' } },
    lastState: {},
    ready: false,
    restartCount: 0,
    image: c.image ?? '',
    imageID: '',
    started: false,
  }));
  setPodCondition(status, { type: 'PodReadyToStartContainers', status: 'False' }, opts.now);
  setPodCondition(status, { type: 'Initialized', status: 'True' }, opts.now);
  setReadiness(pod, false, opts.now);
  setPodCondition(status, { type: 'PodScheduled', status: 'True' }, opts.now);
}

/** The pod's containers, by name and image. */
export function containersOf(pod: KubeObject): ContainerSpec[] {
  return (pod.spec?.containers ?? []) as ContainerSpec[];
}

/**
 * The pod's containers start: phase Running with addresses, start time and running container statuses.
 * `ready` is true for pods without a readiness delay (mirror pods); otherwise readiness comes later.
 * `restarted` bumps every container's restartCount and keeps the previous run as lastState.
 */
export function markContainersRunning(
  pod: KubeObject,
  opts: { now: string; hostIP: string; podIP: string; ready: boolean; restarted?: boolean },
): void {
  const status = statusOf(pod);
  const previous = new Map<string, { restartCount?: number }>(
    ((status.containerStatuses ?? []) as Array<{ name: string; restartCount?: number }>).map((c) => [
      c.name,
      c,
    ]),
  );
  status.phase = 'Running';
  status.hostIP = opts.hostIP;
  status.hostIPs = [{ ip: opts.hostIP }];
  status.podIP = opts.podIP;
  status.podIPs = [{ ip: opts.podIP }];
  status.startTime ??= opts.now;
  status.containerStatuses = containersOf(pod).map((c) => {
    const before = previous.get(c.name);
    const restartCount = (before?.restartCount ?? 0) + (opts.restarted ? 1 : 0);
    const image = c.image ?? '';
    return {
      name: c.name,
      state: { running: { startedAt: opts.now } },
      lastState: opts.restarted
        ? {
            terminated: {
              exitCode: 255,
              reason: 'Unknown',
              startedAt: status.startTime,
              finishedAt: opts.now,
            },
          }
        : {},
      ready: opts.ready,
      restartCount,
      image,
      imageID: imageIdOf(image),
      containerID: containerIdOf(pod, c.name, restartCount),
      started: true,
    };
  });
  setPodCondition(status, { type: 'PodReadyToStartContainers', status: 'True' }, opts.now);
  setPodCondition(status, { type: 'Initialized', status: 'True' }, opts.now);
  setReadiness(pod, opts.ready, opts.now);
  setPodCondition(status, { type: 'PodScheduled', status: 'True' }, opts.now);
}

/** Ready and ContainersReady, and every container's `ready`, to one value. Returns whether anything changed. */
export function setReadiness(pod: KubeObject, ready: boolean, now: string, reason?: string): boolean {
  const status = statusOf(pod);
  let changed = false;
  for (const c of (status.containerStatuses ?? []) as Array<{ ready: boolean }>) {
    if (c.ready !== ready) changed = true;
    c.ready = ready;
  }
  const why = ready ? {} : { reason: reason ?? 'ContainersNotReady', message: notReadyMessage(pod) };
  changed =
    setPodCondition(status, { type: 'Ready', status: ready ? 'True' : 'False', ...why }, now) || changed;
  changed =
    setPodCondition(status, { type: 'ContainersReady', status: ready ? 'True' : 'False', ...why }, now) ||
    changed;
  return changed;
}

/**
 * Every container has exited: phase Succeeded when all exited 0, Failed otherwise. Used both for pods that
 * run to completion and for pods stopped by deletion.
 */
export function markContainersTerminated(
  pod: KubeObject,
  exitCode: number,
  now: string,
  message?: string,
): void {
  const status = statusOf(pod);
  const reason = exitCode === 0 ? 'Completed' : 'Error';
  status.phase = exitCode === 0 ? 'Succeeded' : 'Failed';
  status.containerStatuses = ((status.containerStatuses ?? []) as Array<Record<string, unknown>>).map((c) => {
    const running = (c.state as { running?: { startedAt?: string } } | undefined)?.running;
    const terminated: Record<string, unknown> = {
      exitCode,
      reason,
      startedAt: running?.startedAt ?? status.startTime ?? now,
      finishedAt: now,
      containerID: c.containerID,
    };
    if (message) terminated.message = message;
    return { ...c, state: { terminated }, ready: false, started: false };
  });
  setPodCondition(status, { type: 'PodReadyToStartContainers', status: 'False' }, now);
  setPodCondition(status, { type: 'Ready', status: 'False', reason: 'PodCompleted' }, now);
  setPodCondition(status, { type: 'ContainersReady', status: 'False', reason: 'PodCompleted' }, now);
}
