/**
 * One simulated kubelet per Node object: node status, pod start-up, readiness, run-to-completion, graceful
 * termination, and node restarts at a new version (what a node upgrade looks like from the API).
 *
 * Public surface, for the other parts of the sandbox:
 * - `restartNode(name, { kubeletVersion?, downtimeMs, comesBack? })`: the node reboots (see the method).
 * - `addPodBehaviour(fn)`: decides how a run-to-completion pod ends (the node-upgrade Job registers one).
 * - `isKubeletAlive(name)`, `kubeletDownSince(name)`, `onLivenessChange(listener)`: `KubeletLiveness`,
 *   which `NodeLifecycle` and `Scheduler` take as their second constructor argument.
 *
 * What it says about itself, as the real kubelet does: the node's heartbeat Lease in kube-node-lease
 * (node-leases.ts); Events on the node (`Starting`, `Rebooted`, `NodeHasSufficientMemory`…, `NodeReady`,
 * `NodeNotReady`, `NodeNotSchedulable`, `NodeSchedulable`) and on pods (`Pulling`, `Pulled`, `Created`,
 * `Started`, `Killing`). A bound pod is first `ContainerCreating` (phase Pending) while its images are
 * pulled: timing.imagePullMs per image (±50%, fixed per image), once per node; a node keeps its images
 * until it is rebooted into a new version (a new machine image) or when it is new, and then starts cold.
 * Nodes the sandbox starts with have been running: no start-up Events, and the images of the workloads
 * present at start are already on them.
 *
 * Economy at scale (5,000 nodes, 150,000 pods, time ×100): node status is posted when it changes and
 * otherwise every 5 minutes (jittered), as the real kubelet's nodeStatusReportFrequency; liveness is kept
 * in memory (see node-liveness.ts) and Leases are renewed in slots (node-leases.ts); only pods with a
 * pending step hold a timer.
 *
 * IMPORTANT: store listeners only plan (set timers). Every write happens in a timer or a public method,
 * never inside `onChange`, so other listeners always see changes in commit order.
 */
import type { Timer } from '../../core/clock.ts';
import { matchesRequirements, parseLabelSelector, type Requirement } from '../../core/selectors.ts';
import { R } from '../api/resources.ts';
import type { Actor, SandboxContext } from '../context.ts';
import { rfc3339 } from '../store/deletion.ts';
import type { KubeObject, StoreEvent } from '../store/types.ts';
import { contain, contained } from './contain-errors.ts';
import { imagePull, imagesInUse } from './image-pulls.ts';
import { NodeLeases } from './node-leases.ts';
import type { KubeletLiveness } from './node-liveness.ts';
import { setNodeCondition } from './node-status.ts';
import {
  containersOf,
  isContainerCreating,
  isMirrorPod,
  isPodReady,
  isTerminal,
  markContainersCreating,
  markContainersRunning,
  markContainersTerminated,
  setReadiness,
  statusOf,
} from './pod-status.ts';

export interface PodBehaviour {
  run(pod: KubeObject): Promise<{ exitCode: number; message?: string }>;
}

export type PodBehaviourFactory = (pod: KubeObject) => PodBehaviour | undefined;

export interface NodeRestart {
  /** The kubelet (and kube-proxy, when the node reports one) version after the restart. */
  kubeletVersion?: string;
  /** How long the node is down. */
  downtimeMs: number;
  /**
   * False: the node never comes back (the "never Ready after upgrade" fault). Default true, except that an
   * upgrade (kubeletVersion given) of a node in `faults.nodesNeverReadyAfterUpgrade` never comes back.
   */
  comesBack?: boolean;
}

export const RUN_SECONDS_ANNOTATION = 'sandbox.midflight.dev/run-seconds';
const DEFAULT_RUN_SECONDS = 5;
/** The kubelet's nodeStatusReportFrequency. */
const NODE_STATUS_REPORT_MS = 5 * 60_000;
const BOOT_BATCH = 250;
const KUBELET_DOWN = { reason: 'KubeletNotReady', message: 'container runtime is down' } as const;

type Step = 'create' | 'pulled' | 'start' | 'ready' | 'stop' | 'remove';

interface PodTrack {
  uid: string;
  step?: Step;
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

interface SimKubelet {
  name: string;
  alive: boolean;
  downSince?: number;
  heartbeat?: Timer;
  restart?: { timer: Timer; waiters: Array<() => void> };
  /** "10.128.3." — pod IPs are this plus a host octet. */
  podNet: string;
  usedOctets: Set<number>;
  nextOctet: number;
  /** Images on the node (or being pulled), by when they are there. */
  images: Map<string, number>;
  /** Images the node had when the sandbox started (shared by those nodes); gone after a reimaging reboot. */
  bootImages?: ReadonlySet<string>;
  /** spec.unschedulable as the kubelet last reported it in an Event. */
  unschedulable: boolean;
}

export class KubeletFleet implements Actor, KubeletLiveness {
  readonly name = 'kubelet-fleet';
  private readonly kubelets = new Map<string, SimKubelet>();
  private readonly tracks = new Map<string, PodTrack>();
  private readonly behaviours: PodBehaviourFactory[] = [];
  private readonly livenessListeners = new Set<(nodeName: string, alive: boolean) => void>();
  private ignoreSigterm: { source: string[]; requirements: Requirement[][] } = {
    source: [],
    requirements: [],
  };
  private nodeCount = 0;
  private readonly booting: Array<{ kubelet: SimKubelet; index: number; isNew: boolean }> = [];
  private bootTimer?: Timer;
  private unsubscribe?: () => void;
  private readonly leases: NodeLeases;
  /** Writes noticed in a store listener, done in the next timer (see IMPORTANT above). */
  private readonly deferred: Array<() => void> = [];
  private deferTimer?: Timer;

  constructor(private readonly ctx: SandboxContext) {
    this.leases = new NodeLeases(ctx, (name) => this.isKubeletAlive(name));
  }

  start(): void {
    this.unsubscribe = this.ctx.store.onChange(
      contained(this.ctx, this.name, (event) => this.onChange(event)),
    );
    const bootImages = imagesInUse(this.ctx.store);
    for (const node of this.ctx.store.list(R.nodes)) this.addKubelet(node, { bootImages });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.bootTimer?.cancel();
    this.bootTimer = undefined;
    this.booting.length = 0;
    this.deferTimer?.cancel();
    this.deferTimer = undefined;
    this.deferred.length = 0;
    this.leases.stop();
    for (const kubelet of this.kubelets.values()) {
      kubelet.heartbeat?.cancel();
      kubelet.restart?.timer.cancel();
    }
    for (const track of this.tracks.values()) {
      track.timer?.cancel();
      track.completion?.timer?.cancel();
    }
    this.kubelets.clear();
    this.tracks.clear();
  }

  /** Registers a hook deciding how run-to-completion pods end; the first one returning a behaviour wins. */
  addPodBehaviour(fn: PodBehaviourFactory): void {
    this.behaviours.push(fn);
  }

  isKubeletAlive(nodeName: string): boolean {
    return this.kubelets.get(nodeName)?.alive ?? false;
  }

  kubeletDownSince(nodeName: string): number | undefined {
    const kubelet = this.kubelets.get(nodeName);
    return kubelet && !kubelet.alive ? kubelet.downSince : undefined;
  }

  onLivenessChange(listener: (nodeName: string, alive: boolean) => void): () => void {
    this.livenessListeners.add(listener);
    return () => this.livenessListeners.delete(listener);
  }

  /**
   * The node reboots, as during an upgrade:
   * 1. The kubelet posts a last status, Ready=False `KubeletNotReady` "container runtime is down" (the
   *    runtime goes first), then stops posting; past the monitor grace period the node lifecycle controller
   *    turns the node Unknown with unreachable taints. Pods on the node lose readiness at once.
   * 2. After `downtimeMs` the kubelet is back with the new version and a new bootID and posts Ready=True.
   *    Every pod still on the node restarts its containers (restartCount + 1) and is Ready again after
   *    timing.podReadyMs; mirror pods are Ready at once. Terminating pods are stopped.
   * Resolves once the node is Ready again, or at once when it never comes back. A second call while the
   * node is down replaces the first one's plan; both promises resolve when the node returns.
   * Note: a run-to-completion pod whose behaviour is running is not killed: its behaviour decides its end
   * (the upgrade Job that triggered the reboot must be able to report success).
   */
  restartNode(name: string, change: NodeRestart): Promise<void> {
    const kubelet = this.kubelets.get(name);
    if (!kubelet) return Promise.reject(new Error(`node "${name}" has no kubelet: no such node`));
    const comesBack =
      change.comesBack ??
      !(change.kubeletVersion !== undefined && this.ctx.faults.nodesNeverReadyAfterUpgrade.has(name));
    const waiters = kubelet.restart?.waiters ?? [];
    kubelet.restart?.timer.cancel();
    kubelet.restart = undefined;
    if (kubelet.alive) this.goDown(kubelet);
    if (!comesBack) {
      for (const resolve of waiters) resolve();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      waiters.push(resolve);
      const timer = this.ctx.clock.setTimer(change.downtimeMs, () => {
        kubelet.restart = undefined;
        contain(this.ctx, this.name, () => this.comeBack(kubelet, change.kubeletVersion));
        for (const done of waiters) done();
      });
      kubelet.restart = { timer, waiters };
    });
  }

  private onChange(event: StoreEvent): void {
    if (event.resource === R.nodes) {
      const name = event.object.metadata.name ?? '';
      if (event.type === 'DELETED') this.removeKubelet(name);
      else if (!this.kubelets.has(name)) this.addKubelet(event.object, {});
      else this.noticeSchedulable(name, event.object);
    } else if (event.resource === R.pods) {
      this.onPodChange(event);
    }
  }

  /**
   * A kubelet for the node. `bootImages` is given for the nodes the sandbox starts with: they have been
   * running for a while (images present, no start-up Events); a node added later is a new machine.
   */
  private addKubelet(node: KubeObject, opts: { bootImages?: ReadonlySet<string> }): void {
    const name = node.metadata.name ?? '';
    if (this.kubelets.has(name)) return;
    const index = this.nodeCount++;
    const cidr = /^(\d+\.\d+\.\d+\.)0\/24$/.exec(node.spec?.podCIDR ?? '');
    const kubelet: SimKubelet = {
      name,
      alive: true,
      podNet: cidr?.[1] ?? `10.${128 + ((index >> 8) & 127)}.${index & 255}.`,
      usedOctets: new Set(),
      nextOctet: 2,
      images: new Map(),
      bootImages: opts.bootImages,
      unschedulable: opts.bootImages ? node.spec?.unschedulable === true : false,
    };
    this.kubelets.set(name, kubelet);
    this.booting.push({ kubelet, index, isNew: opts.bootImages === undefined });
    this.bootTimer ??= this.ctx.clock.setTimer(0, () => this.bootBatch());
    this.scheduleHeartbeat(kubelet, this.ctx.random() * NODE_STATUS_REPORT_MS);
  }

  /**
   * New kubelets post their first status and take over their node's pods, BOOT_BATCH at a time with a
   * zero-delay timer in between: 5,000 nodes booting in one timer would block the event loop for a second.
   */
  private bootBatch(): void {
    this.bootTimer = undefined;
    const batch = this.booting.splice(0, BOOT_BATCH);
    if (this.booting.length > 0) this.bootTimer = this.ctx.clock.setTimer(0, () => this.bootBatch());
    for (const { kubelet, index, isNew } of batch) {
      if (this.kubelets.get(kubelet.name) !== kubelet || !kubelet.alive) continue;
      contain(this.ctx, this.name, () => {
        const node = this.postNodeStatus(kubelet, { nodeIndex: index });
        this.leases.add(kubelet.name);
        if (isNew && node) this.recordStartup(kubelet, node, { rebooted: false });
      });
      for (const pod of this.ctx.store.podsOnNode(kubelet.name)) {
        contain(this.ctx, this.name, () => {
          const ip: string | undefined = pod.status?.podIP;
          if (ip?.startsWith(kubelet.podNet)) kubelet.usedOctets.add(Number(ip.slice(kubelet.podNet.length)));
          this.planPod(kubelet, pod);
        });
      }
    }
  }

  private removeKubelet(name: string): void {
    const kubelet = this.kubelets.get(name);
    if (!kubelet) return;
    kubelet.heartbeat?.cancel();
    kubelet.restart?.timer.cancel();
    for (const resolve of kubelet.restart?.waiters ?? []) resolve();
    this.kubelets.delete(name);
    this.leases.remove(name, true);
    for (const pod of this.ctx.store.podsOnNode(name)) this.dropTrack(podKey(pod));
  }

  private scheduleHeartbeat(kubelet: SimKubelet, delayMs: number): void {
    kubelet.heartbeat = this.ctx.clock.setTimer(delayMs, () => {
      if (!kubelet.alive || this.kubelets.get(kubelet.name) !== kubelet) return;
      // Note: contained, so a status the kubelet fails to post stops no later heartbeat.
      contain(this.ctx, this.name, () => this.postNodeStatus(kubelet, {}));
      this.scheduleHeartbeat(kubelet, NODE_STATUS_REPORT_MS * (0.9 + 0.2 * this.ctx.random()));
    });
  }

  /** The kubelet's view of its node: conditions, nodeInfo, addresses, heartbeat time. */
  private postNodeStatus(
    kubelet: SimKubelet,
    opts: { ready?: false; nodeIndex?: number; kubeletVersion?: string; newBoot?: boolean },
  ): KubeObject | undefined {
    const now = rfc3339(this.ctx.clock.now());
    return this.ctx.store.mutate(R.nodes, undefined, kubelet.name, (node) => {
      const status = statusOf(node);
      const ready = opts.ready === false ? KUBELET_DOWN : undefined;
      setNodeCondition(
        status,
        ready
          ? { type: 'Ready', status: 'False', ...ready }
          : {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'kubelet is posting ready status',
            },
        now,
        now,
      );
      for (const [type, reason, message] of HEALTHY_CONDITIONS)
        setNodeCondition(status, { type, status: 'False', reason, message }, now, now);
      if (!status.nodeInfo) status.nodeInfo = {};
      const info = status.nodeInfo;
      if (!info.bootID || opts.newBoot) info.bootID = this.uuid();
      info.machineID ??= this.uuid().replaceAll('-', '');
      info.systemUUID ??= this.uuid();
      info.operatingSystem ??= 'linux';
      info.architecture ??= 'amd64';
      if (opts.kubeletVersion) {
        info.kubeletVersion = opts.kubeletVersion;
        if (info.kubeProxyVersion) info.kubeProxyVersion = opts.kubeletVersion;
      }
      if (opts.nodeIndex !== undefined && !status.addresses) {
        const i = opts.nodeIndex;
        status.addresses = [
          { type: 'InternalIP', address: `10.0.${(i >> 8) & 255}.${i & 255}` },
          { type: 'Hostname', address: kubelet.name },
        ];
      }
      status.daemonEndpoints ??= { kubeletEndpoint: { Port: 10250 } };
      if (!node.spec) node.spec = {};
      const spec = node.spec;
      if (!spec.podCIDR) {
        spec.podCIDR = `${kubelet.podNet}0/24`;
        spec.podCIDRs = [spec.podCIDR];
      }
    });
  }

  private goDown(kubelet: SimKubelet): void {
    const now = rfc3339(this.ctx.clock.now());
    this.postNodeStatus(kubelet, { ready: false });
    this.nodeEvent(kubelet, 'Normal', 'NodeNotReady', `Node ${kubelet.name} status is now: NodeNotReady`);
    kubelet.alive = false;
    kubelet.downSince = this.ctx.clock.now();
    kubelet.heartbeat?.cancel();
    for (const pod of this.ctx.store.podsOnNode(kubelet.name)) {
      const track = this.tracks.get(podKey(pod));
      track?.timer?.cancel();
      if (track) Object.assign(track, { step: undefined, at: undefined, timer: undefined });
      if (isTerminal(pod) || !isPodReady(pod)) continue;
      this.ctx.store.mutate(R.pods, pod.metadata.namespace, pod.metadata.name ?? '', (draft) =>
        setReadiness(draft, false, now),
      );
    }
    for (const listener of this.livenessListeners) listener(kubelet.name, false);
  }

  private comeBack(kubelet: SimKubelet, kubeletVersion: string | undefined): void {
    if (this.kubelets.get(kubelet.name) !== kubelet) return;
    kubelet.alive = true;
    kubelet.downSince = undefined;
    // A reboot into a new version is a new machine image: the images pulled before are gone.
    if (kubeletVersion) {
      kubelet.images.clear();
      kubelet.bootImages = undefined;
    }
    const node = this.postNodeStatus(kubelet, { kubeletVersion, newBoot: true });
    this.leases.add(kubelet.name);
    if (node) this.recordStartup(kubelet, node, { rebooted: true });
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
            podIP: draft.status?.podIP ?? this.allocatePodIP(kubelet),
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
        for (const c of containersOf(updated)) {
          this.podEvent(kubelet, updated, c.name, 'Normal', 'Created', `Created container ${c.name}`);
          this.podEvent(kubelet, updated, c.name, 'Normal', 'Started', `Started container ${c.name}`);
        }
      }
      this.planPod(kubelet, updated);
    }
    for (const listener of this.livenessListeners) listener(kubelet.name, true);
    this.scheduleHeartbeat(kubelet, NODE_STATUS_REPORT_MS * (0.9 + 0.2 * this.ctx.random()));
  }

  private onPodChange(event: StoreEvent): void {
    const pod = event.object;
    const key = podKey(pod);
    if (event.type === 'DELETED') {
      const track = this.tracks.get(key);
      if (track?.uid === pod.metadata.uid) this.dropTrack(key);
      this.releasePodIP(pod);
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
    const next = this.nextStep(pod, track);
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
        contained(this.ctx, this.name, () => this.runStep(kubelet, key, step)),
      );
      // The kubelet sends SIGTERM as soon as it sees the deletion.
      if (step === 'stop' && !track.killing && pod.status?.phase === 'Running' && !isMirrorPod(pod)) {
        track.killing = true;
        this.defer(() => {
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
      this.startCompletion(track, key, pod);
    }
    if (track && !track.step && !track.completion) this.tracks.delete(key);
  }

  private nextStep(pod: KubeObject, track: PodTrack | undefined): { step: Step; at: number } | undefined {
    const now = this.ctx.clock.now();
    const keep = (step: Step, at: number) => ({ step, at: track?.step === step ? (track.at ?? at) : at });
    if (pod.metadata.deletionTimestamp) {
      if (isTerminal(pod)) return pod.metadata.finalizers?.length ? undefined : { step: 'remove', at: now };
      const deadline = Math.max(now, Date.parse(pod.metadata.deletionTimestamp));
      const grace = pod.metadata.deletionGracePeriodSeconds ?? 0;
      let at: number;
      if (grace === 0) at = now;
      else if (this.ignoresSigterm(pod)) at = deadline;
      else at = Math.min(now + this.ctx.timing.podStopMs, deadline);
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
      return keep('start', Math.max(now, track?.startAt ?? now + this.ctx.timing.podStartMs));
    }
    if (phase === 'Running' && !isPodReady(pod)) return keep('ready', now + this.ctx.timing.podReadyMs);
    return undefined;
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

  private runStep(kubelet: SimKubelet, key: string, step: Step): void {
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
            podIP: draft.status?.podIP ?? this.allocatePodIP(kubelet),
            ready: isMirrorPod(draft),
          });
        });
        if (started && started !== pod && !isMirrorPod(pod)) {
          for (const c of containersOf(pod)) {
            this.podEvent(kubelet, started, c.name, 'Normal', 'Created', `Created container ${c.name}`);
            this.podEvent(kubelet, started, c.name, 'Normal', 'Started', `Started container ${c.name}`);
          }
        }
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
   * pulled (a pull already under way for another pod is joined, not repeated); the containers start
   * timing.podStartMs after the last image is there.
   */
  private createContainers(kubelet: SimKubelet, track: PodTrack, pod: KubeObject, now: string): void {
    const nowMs = this.ctx.clock.now();
    const waitFor: string[] = [];
    let doneAt = nowMs;
    for (const image of new Set(containersOf(pod).map((c) => c.image ?? ''))) {
      let readyAt = kubelet.images.get(image) ?? (kubelet.bootImages?.has(image) ? 0 : undefined);
      if (readyAt === undefined) {
        readyAt = nowMs + imagePull(image, this.ctx.timing.imagePullMs).ms;
        kubelet.images.set(image, readyAt);
      }
      if (readyAt > nowMs) waitFor.push(image);
      doneAt = Math.max(doneAt, readyAt);
    }
    // Note: set before the write, whose store notification plans the pod's next step from them.
    track.pulls = waitFor.length > 0 ? { images: waitFor, since: nowMs, doneAt } : undefined;
    track.startAt = doneAt + this.ctx.timing.podStartMs;
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
    const waited = formatSeconds(this.ctx.clock.now() - pulls.since);
    for (const c of containersOf(pod)) {
      const image = c.image ?? '';
      if (!pulls.images.includes(image)) continue;
      const pull = imagePull(image, this.ctx.timing.imagePullMs);
      this.podEvent(
        kubelet,
        pod,
        c.name,
        'Normal',
        'Pulled',
        `Successfully pulled image "${image}" in ${formatSeconds(pull.ms)} (${waited} including waiting). Image size: ${pull.bytes} bytes.`,
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
    const killed = this.ignoresSigterm(pod) && (pod.metadata.deletionGracePeriodSeconds ?? 0) > 0;
    this.ctx.store.mutate(R.pods, namespace, name, (draft) => {
      if (isTerminal(draft)) return false;
      markContainersTerminated(draft, killed ? 137 : 0, now);
    });
  }

  /** A run-to-completion pod is running: its behaviour, or its run-seconds annotation, decides its end. */
  private startCompletion(track: PodTrack, key: string, pod: KubeObject): void {
    const behaviour = this.behaviourFor(pod);
    const uid = pod.metadata.uid;
    if (behaviour) {
      track.completion = {};
      // Note: run() starts after the current store notification has reached every listener.
      void Promise.resolve()
        .then(() => behaviour.run(pod))
        .then(
          (result) =>
            contain(this.ctx, this.name, () => this.completePod(key, uid, result.exitCode, result.message)),
          (error: unknown) =>
            contain(this.ctx, this.name, () =>
              this.completePod(key, uid, 1, error instanceof Error ? error.message : String(error)),
            ),
        );
      return;
    }
    const seconds = Number(pod.metadata.annotations?.[RUN_SECONDS_ANNOTATION] ?? DEFAULT_RUN_SECONDS);
    const startedAt = Date.parse(pod.status?.containerStatuses?.[0]?.state?.running?.startedAt ?? '');
    const elapsed = Number.isNaN(startedAt) ? 0 : this.ctx.clock.now() - startedAt;
    const runMs = Number.isFinite(seconds) ? seconds * 1000 : DEFAULT_RUN_SECONDS * 1000;
    track.completion = {
      timer: this.ctx.clock.setTimer(
        Math.max(0, runMs - elapsed),
        contained(this.ctx, this.name, () => this.completePod(key, uid, 0)),
      ),
    };
  }

  private behaviourFor(pod: KubeObject): PodBehaviour | undefined {
    for (const fn of this.behaviours) {
      const behaviour = fn(pod);
      if (behaviour) return behaviour;
    }
    return undefined;
  }

  private completePod(key: string, uid: string | undefined, exitCode: number, message?: string): void {
    const track = this.tracks.get(key);
    if (track && track.uid === uid) {
      track.completion = undefined;
      if (!track.step) this.tracks.delete(key);
    }
    if (!this.unsubscribe) return;
    const [namespace, name] = splitKey(key);
    this.ctx.store.mutate(R.pods, namespace, name, (draft) => {
      if (draft.metadata.uid !== uid || isTerminal(draft) || draft.metadata.deletionTimestamp) return false;
      markContainersTerminated(draft, exitCode, rfc3339(this.ctx.clock.now()), message);
    });
  }

  private ignoresSigterm(pod: KubeObject): boolean {
    const selectors = this.ctx.faults.ignoreSigtermSelectors;
    if (selectors.length === 0) return false;
    if (this.ignoreSigterm.source !== selectors) {
      // Faults change at run time; a selector that does not parse matches nothing rather than crashing.
      const requirements = selectors.flatMap((s) => {
        try {
          return [parseLabelSelector(s)];
        } catch {
          return [];
        }
      });
      this.ignoreSigterm = { source: selectors, requirements };
    }
    return this.ignoreSigterm.requirements.some((reqs) => matchesRequirements(reqs, pod.metadata.labels));
  }

  private hostIPOf(nodeName: string): string {
    const node = this.ctx.store.get(R.nodes, undefined, nodeName);
    const addresses = (node?.status?.addresses ?? []) as Array<{ type: string; address: string }>;
    return addresses.find((a) => a.type === 'InternalIP')?.address ?? '10.0.0.1';
  }

  /** A free address in the node's /24; past 253 live pods addresses are reused (real nodes cap pods at 110). */
  private allocatePodIP(kubelet: SimKubelet): string {
    for (let tries = 0; tries < 253; tries++) {
      const octet = kubelet.nextOctet;
      kubelet.nextOctet = octet >= 254 ? 2 : octet + 1;
      if (!kubelet.usedOctets.has(octet)) {
        kubelet.usedOctets.add(octet);
        return kubelet.podNet + octet;
      }
    }
    return kubelet.podNet + kubelet.nextOctet;
  }

  private releasePodIP(pod: KubeObject): void {
    const kubelet = this.kubelets.get(pod.spec?.nodeName ?? '');
    const ip: string | undefined = pod.status?.podIP;
    if (kubelet && ip?.startsWith(kubelet.podNet))
      kubelet.usedOctets.delete(Number(ip.slice(kubelet.podNet.length)));
  }

  /**
   * What a kubelet records as it starts: `Starting`, `Rebooted` (a new boot ID), the node's healthy
   * conditions, `NodeAllocatableEnforced`, `NodeReady`, and `NodeNotSchedulable` when the node is cordoned.
   */
  private recordStartup(kubelet: SimKubelet, node: KubeObject, opts: { rebooted: boolean }): void {
    const name = kubelet.name;
    this.nodeEvent(kubelet, 'Normal', 'Starting', 'Starting kubelet.');
    if (opts.rebooted)
      this.nodeEvent(
        kubelet,
        'Warning',
        'Rebooted',
        `Node ${name} has been rebooted, boot id: ${node.status?.nodeInfo?.bootID ?? ''}`,
      );
    for (const [, condition] of HEALTHY_CONDITIONS.slice(0, 3)) {
      const reason = nodeStatusWord(condition);
      this.nodeEvent(kubelet, 'Normal', reason, `Node ${name} status is now: ${reason}`);
    }
    this.nodeEvent(
      kubelet,
      'Normal',
      'NodeAllocatableEnforced',
      'Updated Node Allocatable limit across pods',
    );
    this.nodeEvent(kubelet, 'Normal', 'NodeReady', `Node ${name} status is now: NodeReady`);
    kubelet.unschedulable = false;
    this.noticeSchedulable(name, node, { now: true });
  }

  /** The kubelet reports a change of spec.unschedulable (a cordon or uncordon) as an Event on its node. */
  private noticeSchedulable(name: string, node: KubeObject, opts: { now?: boolean } = {}): void {
    const kubelet = this.kubelets.get(name);
    const unschedulable = node.spec?.unschedulable === true;
    if (!kubelet?.alive || kubelet.unschedulable === unschedulable) return;
    kubelet.unschedulable = unschedulable;
    const reason = unschedulable ? 'NodeNotSchedulable' : 'NodeSchedulable';
    const record = () => this.nodeEvent(kubelet, 'Normal', reason, `Node ${name} status is now: ${reason}`);
    if (opts.now) record();
    else this.defer(record);
  }

  private nodeEvent(kubelet: SimKubelet, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const involved: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: kubelet.name } };
    this.ctx.recordEvent(involved, type, reason, message, 'kubelet', {
      host: kubelet.name,
      involvedUid: kubelet.name,
    });
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

  /** Runs `write` in the next timer: for what a store listener notices and must not write itself. */
  private defer(write: () => void): void {
    this.deferred.push(write);
    this.deferTimer ??= this.ctx.clock.setTimer(0, () => {
      this.deferTimer = undefined;
      for (const fn of this.deferred.splice(0)) contain(this.ctx, this.name, fn);
    });
  }

  private uuid(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.ctx.random() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
  }
}

const HEALTHY_CONDITIONS: Array<[string, string, string]> = [
  ['MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  ['DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
  ['NetworkUnavailable', 'RouteCreated', 'RouteController created a route'],
];

/** "NodeHasSufficientMemory" from "KubeletHasSufficientMemory": how the kubelet names a condition in Events. */
function nodeStatusWord(reason: string): string {
  return reason.replace(/^Kubelet/, 'Node');
}

/** "3.2s", as Go prints a duration rounded to milliseconds. */
function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(3))}s` : `${Math.round(ms)}ms`;
}

/** Job pods and pods that are not restarted when they exit run to completion. */
function runsToCompletion(pod: KubeObject): boolean {
  if (pod.metadata.ownerReferences?.some((ref) => ref.kind === 'Job')) return true;
  const policy = pod.spec?.restartPolicy;
  return policy === 'Never' || policy === 'OnFailure';
}

function podKey(pod: KubeObject): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
