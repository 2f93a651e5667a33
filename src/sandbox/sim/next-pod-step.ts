/**
 * What the kubelet does next to a pod, and when: a pure decision from the pod as stored and what the
 * kubelet remembers of it (its PodTrack). pod-lifecycle.ts sets the timer and does the step.
 */
import type { Timer } from '../../core/index.ts';
import type { SimTiming } from '../context.ts';
import type { KubeObject } from '../store/types.ts';
import { isContainerCreating, isMirrorPod, isPodReady, isTerminal } from './pod-status.ts';
import { podSpreadMs } from './timing-spread.ts';

export type PodStep = 'create' | 'pulled' | 'start' | 'ready' | 'stop' | 'remove';

/** What the kubelet remembers of a pod it is running. */
export interface PodTrack {
  uid: string;
  step?: PodStep;
  at?: number;
  timer?: Timer;
  /** Images this pod waits for (pulls it started or joined), until their `Pulled` Events are written. */
  pulls?: { images: string[]; since: number; doneAt: number };
  /** When the containers start, once the images are there. */
  startAt?: number;
  /** The `Killing` Events were written. */
  killing?: boolean;
  /** A run-to-completion pod whose end is on its way (a behaviour's promise or a run-seconds timer). */
  completion?: { timer?: Timer };
}

/** What the decision depends on besides the pod and the clock: the same for every pod of a fleet. */
export interface StepRules {
  timing: Pick<SimTiming, 'podStartMs' | 'podStopMs' | 'podReadyMs' | 'spread'>;
  /** The "ignores SIGTERM" fault: such a pod runs until its grace period ends. */
  ignoresSigterm(pod: KubeObject): boolean;
  /** Whether the node has the pod's volumes attached; the containers wait for it. Always, when left out. */
  volumesAttached?(pod: KubeObject): boolean;
}

/** The pod's next step and its clock time (`now` is the clock's); undefined when the kubelet has nothing to do. */
export function nextPodStep(
  pod: KubeObject,
  track: PodTrack | undefined,
  now: number,
  rules: StepRules,
): { step: PodStep; at: number } | undefined {
  const { timing } = rules;
  const keep = (step: PodStep, at: number) => ({ step, at: track?.step === step ? (track.at ?? at) : at });
  if (pod.metadata.deletionTimestamp) {
    if (isTerminal(pod)) return pod.metadata.finalizers?.length ? undefined : { step: 'remove', at: now };
    const deadline = Math.max(now, Date.parse(pod.metadata.deletionTimestamp));
    const grace = pod.metadata.deletionGracePeriodSeconds ?? 0;
    let at: number;
    if (grace === 0) at = now;
    else if (rules.ignoresSigterm(pod)) at = deadline;
    else at = Math.min(now + podSpreadMs(timing.podStopMs, timing.spread, 'podStop', pod), deadline);
    // A later delete may shorten the grace period, never lengthen what is already planned.
    if (track?.step === 'stop' && track.at !== undefined) at = Math.min(at, track.at);
    return { step: 'stop', at };
  }
  if (isTerminal(pod)) return undefined;
  const phase = pod.status?.phase ?? 'Pending';
  // Mirror pods belong to the control-plane simulation, which sets their readiness as components restart:
  // the kubelet only starts one that has no status yet, and takes them down and up with the node.
  if (isMirrorPod(pod)) return phase === 'Pending' ? { step: 'start', at: now } : undefined;
  if (phase === 'Pending') {
    if (!isContainerCreating(pod)) return { step: 'create', at: now };
    if (track?.pulls) return keep('pulled', track.pulls.doneAt);
    // Nothing to do until the attach-detach controller attaches the volumes (the fleet then plans again).
    if (rules.volumesAttached && !rules.volumesAttached(pod)) return undefined;
    const startMs = podSpreadMs(timing.podStartMs, timing.spread, 'podStart', pod);
    return keep('start', Math.max(now, track?.startAt ?? now + startMs));
  }
  if (phase === 'Running' && !isPodReady(pod))
    return keep('ready', now + podSpreadMs(timing.podReadyMs, timing.spread, 'podReady', pod));
  return undefined;
}
