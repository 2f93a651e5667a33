/**
 * The kubelet's side of each pod bound to a node it runs: start-up (ContainerCreating while images are
 * pulled, then Running, then Ready after timing.podReadyMs), run-to-completion (pod-completions.ts),
 * graceful termination (SIGTERM on deletion, exit 0 within timing.podStopMs, or 137 at the end of the
 * grace period for a pod that ignores SIGTERM), removal, and what a node going down or coming back does
 * to its pods. Writes the pod Events `Pulling`, `Pulled`, `Created`, `Started`, `Killing`,
 * `SandboxChanged`.
 *
 * Economy at scale: only pods with a pending step hold a timer (and a PodTrack); the next step is decided
 * by next-pod-step.ts.
 *
 * IMPORTANT: `onPodChange` runs in a store listener: it only plans (sets timers and defers writes).
 */

import { R } from '../api/resources.ts';
import type { SandboxContext } from '../context.ts';
import { rfc3339 } from '../store/deletion.ts';
import type { KubeObject, StoreEvent } from '../store/types.ts';
import { volumesAttached } from './attach-detach.ts';
import { contained } from './contain-errors.ts';
import type { DeferredWrites } from './deferred-writes.ts';
import { pulledMessage, pullImagesFor } from './image-pulls.ts';
import type { KubeletFaults } from './kubelet-faults.ts';
import { nextPodStep, type PodStep, type PodTrack, type StepRules } from './next-pod-step.ts';
import { internalIPOf } from './node-status.ts';
import { type PodBehaviourFactory, PodCompletions, runsToCompletion } from './pod-completions.ts';
import {
  containersOf,
  isMirrorPod,
  isPodReady,
  isTerminal,
  markContainersCreating,
  markContainersRunning,
  markContainersTerminated,
  setReadiness,
} from './pod-status.ts';
import { allocatePodIP, KUBELET_ACTOR, markPodIP, type SimKubelet } from './sim-kubelet.ts';
import { podSpreadMs } from './timing-spread.ts';

/** Where a pod is when its node has no InternalIP to report (a node written without addresses). */
const FALLBACK_HOST_IP = '10.0.0.1';

export class PodLifecycle {
  private readonly tracks = new Map<string, PodTrack>();
  private readonly completions: PodCompletions;
  /** Built once: planPod runs for every pod change at 150,000 pods, and should allocate nothing for this. */
  private readonly stepRules: StepRules;
  /** Between start() and stop(): a behaviour finishing after stop() writes nothing. */
  private active = false;

  /** `kubelets` is the fleet's own map, read here: a step of a kubelet replaced or removed is dropped. */
  constructor(
    private readonly ctx: SandboxContext,
    private readonly kubelets: ReadonlyMap<string, SimKubelet>,
    private readonly deferred: DeferredWrites,
    private readonly faults: KubeletFaults,
  ) {
    this.stepRules = {
      get timing() {
        return ctx.timing;
      },
      ignoresSigterm: (pod) => faults.ignoresSigterm(pod),
      volumesAttached: (pod) => volumesAttached(ctx.store, pod),
    };
    this.completions = new PodCompletions(ctx, (key, uid, exitCode, message) =>
      this.completePod(key, uid, exitCode, message),
    );
  }

  start(): void {
    this.active = true;
  }

  stop(): void {
    this.active = false;
    for (const track of this.tracks.values()) {
      track.timer?.cancel();
      track.completion?.timer?.cancel();
    }
    this.tracks.clear();
  }

  /** Registers a hook deciding how run-to-completion pods end; the first one returning a behaviour wins. */
  addPodBehaviour(fn: PodBehaviourFactory): void {
    this.completions.add(fn);
  }

  /** A kubelet just started takes a pod already on its node on (keeping its address). */
  takeOver(kubelet: SimKubelet, pod: KubeObject): void {
    markPodIP(kubelet, pod.status?.podIP, true);
    this.planPod(kubelet, pod);
  }

  /** A volume was attached to the kubelet's node: its pods waiting for volumes may start now. */
  volumeAttached(kubelet: SimKubelet): void {
    for (const pod of this.ctx.store.podsOnNode(kubelet.name))
      if (pod.status?.phase === 'Pending') this.planPod(kubelet, pod);
  }

  /** The node's pods are gone with it: their timers stop. */
  forgetNode(nodeName: string): void {
    for (const pod of this.ctx.store.podsOnNode(nodeName)) this.dropTrack(podKey(pod));
  }

  /** The kubelet went down: its pods' pending steps stop, and the running ones lose readiness at once. */
  podsLoseReadiness(kubelet: SimKubelet, now: string): void {
    for (const pod of this.ctx.store.podsOnNode(kubelet.name)) {
      const track = this.tracks.get(podKey(pod));
      track?.timer?.cancel();
      if (track) Object.assign(track, { step: undefined, at: undefined, timer: undefined });
      if (isTerminal(pod) || !isPodReady(pod)) continue;
      this.ctx.store.mutate(R.pods, pod.metadata.namespace, pod.metadata.name ?? '', (draft) =>
        setReadiness(draft, false, now),
      );
    }
  }

  /**
   * The kubelet came back from a reboot: every pod still running on the node restarts its containers
   * (restartCount + 1) and is Ready again after timing.podReadyMs; mirror pods are Ready at once; the others
   * (terminating, pending) take their next step. A run-to-completion pod whose behaviour is running is left
   * to it (the upgrade Job that triggered the reboot must be able to report success).
   */
  restartPods(kubelet: SimKubelet): void {
    const now = rfc3339(this.ctx.clock.now());
    const hostIP = this.hostIPOf(kubelet.name);
    for (const pod of this.ctx.store.podsOnNode(kubelet.name)) {
      if (isTerminal(pod) || pod.metadata.deletionTimestamp || pod.status?.phase !== 'Running') {
        this.planPod(kubelet, pod);
        continue;
      }
      if (this.tracks.get(podKey(pod))?.completion) continue;
      const updated = this.ctx.store.mutate(
        R.pods,
        pod.metadata.namespace,
        pod.metadata.name ?? '',
        (draft) =>
          markContainersRunning(draft, {
            now,
            hostIP,
            podIP: draft.status?.podIP ?? allocatePodIP(kubelet),
            ready: isMirrorPod(draft),
            restarted: true,
          }),
      );
      if (!updated) continue;
      // After a reboot the kubelet finds the pod's sandbox gone, makes a new one and restarts the containers.
      if (!isMirrorPod(updated)) {
        this.ctx.recordEvent(
          updated,
          'Normal',
          'SandboxChanged',
          'Pod sandbox changed, it will be killed and re-created.',
          'kubelet',
          { host: kubelet.name },
        );
        this.recordContainersStarted(kubelet, updated);
      }
      this.planPod(kubelet, updated);
    }
  }

  /** A store change of a pod (in a store listener: plans only). */
  onPodChange(event: StoreEvent): void {
    const pod = event.object;
    const key = podKey(pod);
    if (event.type === 'DELETED') {
      const track = this.tracks.get(key);
      if (track?.uid === pod.metadata.uid) this.dropTrack(key);
      const kubelet = this.kubelets.get(pod.spec?.nodeName ?? '');
      if (kubelet) markPodIP(kubelet, pod.status?.podIP, false);
      return;
    }
    const previousNode: string | undefined = event.previous?.spec?.nodeName;
    const nodeName: string | undefined = pod.spec?.nodeName;
    if (previousNode && previousNode !== nodeName) this.dropTrack(key);
    if (!nodeName) return;
    const kubelet = this.kubelets.get(nodeName);
    if (kubelet?.alive) this.planPod(kubelet, pod);
  }

  /** Decides the pod's next step and (re)sets its timer; writes nothing. */
  private planPod(kubelet: SimKubelet, pod: KubeObject): void {
    const key = podKey(pod);
    let track = this.tracks.get(key);
    if (track && track.uid !== pod.metadata.uid) {
      this.dropTrack(key);
      track = undefined;
    }
    const next = nextPodStep(pod, track, this.ctx.clock.now(), this.stepRules);
    if (!next) {
      if (track) {
        track.timer?.cancel();
        Object.assign(track, { step: undefined, at: undefined, timer: undefined });
      }
    } else if (!track || track.step !== next.step || track.at !== next.at) {
      track ??= this.newTrack(key, pod);
      track.timer?.cancel();
      const { step, at } = next;
      track.step = step;
      track.at = at;
      track.timer = this.ctx.clock.setTimer(
        at - this.ctx.clock.now(),
        contained(this.ctx, KUBELET_ACTOR, () => this.runStep(kubelet, key, step)),
      );
      // The kubelet sends SIGTERM as soon as it sees the deletion.
      if (step === 'stop' && !track.killing && pod.status?.phase === 'Running' && !isMirrorPod(pod)) {
        track.killing = true;
        this.deferred.defer(() => {
          for (const c of containersOf(pod))
            this.podEvent(kubelet, pod, c.name, 'Normal', 'Killing', `Stopping container ${c.name}`);
        });
      }
    }
    // Readiness and completion of a run-to-completion pod go side by side.
    if (
      runsToCompletion(pod) &&
      pod.status?.phase === 'Running' &&
      !pod.metadata.deletionTimestamp &&
      !track?.completion
    ) {
      track ??= this.newTrack(key, pod);
      track.completion = this.completions.start(key, pod);
    }
    if (track && !track.step && !track.completion) this.tracks.delete(key);
  }

  private newTrack(key: string, pod: KubeObject): PodTrack {
    const track: PodTrack = { uid: pod.metadata.uid ?? '' };
    this.tracks.set(key, track);
    return track;
  }

  private dropTrack(key: string): void {
    const track = this.tracks.get(key);
    if (!track) return;
    track.timer?.cancel();
    track.completion?.timer?.cancel();
    this.tracks.delete(key);
  }

  private runStep(kubelet: SimKubelet, key: string, step: PodStep): void {
    const track = this.tracks.get(key);
    if (track) Object.assign(track, { step: undefined, at: undefined, timer: undefined });
    if (!kubelet.alive || this.kubelets.get(kubelet.name) !== kubelet) return;
    const [namespace, name] = splitKey(key);
    const pod = this.ctx.store.get(R.pods, namespace, name);
    if (!pod || !track || pod.metadata.uid !== track.uid || pod.spec?.nodeName !== kubelet.name) return;
    const now = rfc3339(this.ctx.clock.now());
    switch (step) {
      case 'create':
        this.createContainers(kubelet, track, pod, now);
        break;
      case 'pulled':
        this.finishPulls(kubelet, track, pod);
        break;
      case 'start': {
        const started = this.ctx.store.mutate(R.pods, namespace, name, (draft) => {
          if (draft.metadata.deletionTimestamp || isTerminal(draft)) return false;
          markContainersRunning(draft, {
            now,
            hostIP: this.hostIPOf(kubelet.name),
            podIP: draft.status?.podIP ?? allocatePodIP(kubelet),
            ready: isMirrorPod(draft),
          });
        });
        if (started && started !== pod && !isMirrorPod(pod)) this.recordContainersStarted(kubelet, started);
        break;
      }
      case 'ready':
        this.ctx.store.mutate(R.pods, namespace, name, (draft) => {
          if (draft.metadata.deletionTimestamp || draft.status?.phase !== 'Running') return false;
          return setReadiness(draft, true, now);
        });
        break;
      case 'stop':
        this.stopPod(pod, now);
        break;
      case 'remove':
        if (!pod.metadata.finalizers?.length) this.ctx.store.remove(R.pods, namespace, name);
        break;
    }
    const after = this.tracks.get(key);
    if (after && !after.step && !after.completion) this.tracks.delete(key);
  }

  /**
   * The kubelet takes a bound pod on: the pod shows ContainerCreating while each image the node lacks is
   * pulled (image-pulls.ts); the containers start timing.podStartMs after the last image is there.
   */
  private createContainers(kubelet: SimKubelet, track: PodTrack, pod: KubeObject, now: string): void {
    const nowMs = this.ctx.clock.now();
    const { waitFor, doneAt } = pullImagesFor(kubelet, pod, nowMs, this.ctx.timing.imagePullMs);
    // Note: set before the write, whose store notification plans the pod's next step from them.
    track.pulls = waitFor.length > 0 ? { images: waitFor, since: nowMs, doneAt } : undefined;
    track.startAt = doneAt + podSpreadMs(this.ctx.timing.podStartMs, this.ctx.timing.spread, 'podStart', pod);
    const created = this.ctx.store.mutate(
      R.pods,
      pod.metadata.namespace,
      pod.metadata.name ?? '',
      (draft) => {
        if (draft.metadata.deletionTimestamp || isTerminal(draft) || draft.status?.phase === 'Running')
          return false;
        markContainersCreating(draft, { now, hostIP: this.hostIPOf(kubelet.name) });
      },
    );
    if (!created || created === pod) return;
    for (const c of containersOf(pod)) {
      const image = c.image ?? '';
      if (waitFor.includes(image))
        this.podEvent(kubelet, created, c.name, 'Normal', 'Pulling', `Pulling image "${image}"`);
      else
        this.podEvent(
          kubelet,
          created,
          c.name,
          'Normal',
          'Pulled',
          `Container image "${image}" already present on machine`,
        );
    }
  }

  /** The images the pod waited for are on the node: `Pulled` Events, then the containers' start is planned. */
  private finishPulls(kubelet: SimKubelet, track: PodTrack, pod: KubeObject): void {
    const pulls = track.pulls;
    track.pulls = undefined;
    if (!pulls) return;
    const waitedMs = this.ctx.clock.now() - pulls.since;
    for (const c of containersOf(pod)) {
      const image = c.image ?? '';
      if (!pulls.images.includes(image)) continue;
      this.podEvent(
        kubelet,
        pod,
        c.name,
        'Normal',
        'Pulled',
        pulledMessage(image, this.ctx.timing.imagePullMs, waitedMs),
      );
    }
    this.planPod(kubelet, pod);
  }

  /**
   * Containers exit: with 0 when the pod honoured SIGTERM, 137 (SIGKILL) when its grace period ran out.
   * A pod without finalizers is then removed; one with finalizers keeps its terminal status until they go.
   */
  private stopPod(pod: KubeObject, now: string): void {
    const namespace = pod.metadata.namespace;
    const name = pod.metadata.name ?? '';
    const track = this.tracks.get(podKey(pod));
    track?.completion?.timer?.cancel();
    if (track) track.completion = undefined;
    if (!pod.metadata.finalizers?.length) {
      this.ctx.store.remove(R.pods, namespace, name);
      return;
    }
    const killed = this.faults.ignoresSigterm(pod) && (pod.metadata.deletionGracePeriodSeconds ?? 0) > 0;
    this.ctx.store.mutate(R.pods, namespace, name, (draft) => {
      if (isTerminal(draft)) return false;
      markContainersTerminated(draft, killed ? 137 : 0, now);
    });
  }

  private completePod(key: string, uid: string | undefined, exitCode: number, message?: string): void {
    const track = this.tracks.get(key);
    if (track && track.uid === uid) {
      track.completion = undefined;
      if (!track.step) this.tracks.delete(key);
    }
    if (!this.active) return;
    const [namespace, name] = splitKey(key);
    this.ctx.store.mutate(R.pods, namespace, name, (draft) => {
      if (draft.metadata.uid !== uid || isTerminal(draft) || draft.metadata.deletionTimestamp) return false;
      markContainersTerminated(draft, exitCode, rfc3339(this.ctx.clock.now()), message);
    });
  }

  private hostIPOf(nodeName: string): string {
    const node = this.ctx.store.get(R.nodes, undefined, nodeName);
    return (node && internalIPOf(node)) ?? FALLBACK_HOST_IP;
  }

  private recordContainersStarted(kubelet: SimKubelet, pod: KubeObject): void {
    for (const c of containersOf(pod)) {
      this.podEvent(kubelet, pod, c.name, 'Normal', 'Created', `Created container ${c.name}`);
      this.podEvent(kubelet, pod, c.name, 'Normal', 'Started', `Started container ${c.name}`);
    }
  }

  private podEvent(
    kubelet: SimKubelet,
    pod: KubeObject,
    container: string,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): void {
    this.ctx.recordEvent(pod, type, reason, message, 'kubelet', {
      host: kubelet.name,
      fieldPath: `spec.containers{${container}}`,
    });
  }
}

function podKey(pod: KubeObject): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
