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
 * The fleet keeps the kubelets, boots them and restarts them; the parts each kubelet plays are elsewhere:
 * - node-status-reporter.ts: node status, heartbeats, the node Lease, node Events;
 * - pod-lifecycle.ts: pod start-up, image pulls, readiness, run-to-completion, graceful termination,
 *   restarts after a reboot (next-pod-step.ts decides, pod-completions.ts ends Job pods);
 * - kubelet-faults.ts: the scenario faults the kubelets act out.
 *
 * Economy at scale (5,000 nodes, 150,000 pods, time ×100): node status is posted when it changes and
 * otherwise every 5 minutes (jittered), as the real kubelet's nodeStatusReportFrequency; liveness is kept
 * in memory (see node-liveness.ts) and Leases are renewed in slots (node-leases.ts); only pods with a
 * pending step hold a timer.
 *
 * IMPORTANT: store listeners only plan (set timers). Every write happens in a timer or a public method,
 * never inside `onChange`, so other listeners always see changes in commit order.
 */
import type { Timer } from '../../core/index.ts';
import { R } from '../api/resources.ts';
import type { Actor, SandboxContext } from '../context.ts';
import { rfc3339 } from '../store/deletion.ts';
import type { KubeObject, StoreEvent } from '../store/types.ts';
import { contain, contained } from './contain-errors.ts';
import { DeferredWrites } from './deferred-writes.ts';
import { imagesInUse } from './image-pulls.ts';
import { KubeletFaults } from './kubelet-faults.ts';
import type { KubeletLiveness } from './node-liveness.ts';
import { NodeStatusReporter } from './node-status-reporter.ts';
import type { PodBehaviourFactory } from './pod-completions.ts';
import { PodLifecycle } from './pod-lifecycle.ts';
import { KUBELET_ACTOR, type SimKubelet } from './sim-kubelet.ts';

// The annotation is part of the fleet's contract with scenarios and tests: it stays importable from here.
export { type PodBehaviourFactory, RUN_SECONDS_ANNOTATION } from './pod-completions.ts';

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

const BOOT_BATCH = 250;

export class KubeletFleet implements Actor, KubeletLiveness {
  readonly name = KUBELET_ACTOR;
  private readonly kubelets = new Map<string, SimKubelet>();
  private readonly livenessListeners = new Set<(nodeName: string, alive: boolean) => void>();
  private nodeCount = 0;
  private readonly booting: Array<{ kubelet: SimKubelet; index: number; isNew: boolean }> = [];
  private bootTimer?: Timer;
  private unsubscribe?: () => void;
  /** Writes noticed in a store listener, done in the next timer (see IMPORTANT above). */
  private readonly deferred: DeferredWrites;
  private readonly faults: KubeletFaults;
  private readonly status: NodeStatusReporter;
  private readonly pods: PodLifecycle;

  constructor(private readonly ctx: SandboxContext) {
    this.deferred = new DeferredWrites(ctx, KUBELET_ACTOR);
    this.faults = new KubeletFaults(ctx);
    this.status = new NodeStatusReporter(ctx, this.kubelets, this.deferred);
    this.pods = new PodLifecycle(ctx, this.kubelets, this.deferred, this.faults);
  }

  start(): void {
    this.pods.start();
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
    this.deferred.clear();
    this.status.stop();
    for (const kubelet of this.kubelets.values()) kubelet.restart?.timer.cancel();
    this.pods.stop();
    this.kubelets.clear();
  }

  /** Registers a hook deciding how run-to-completion pods end; the first one returning a behaviour wins. */
  addPodBehaviour(fn: PodBehaviourFactory): void {
    this.pods.addPodBehaviour(fn);
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
    const comesBack = change.comesBack ?? !this.faults.neverReadyAfter(name, change.kubeletVersion);
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
      else this.status.noticeSchedulable(name, event.object);
    } else if (event.resource === R.pods) {
      this.pods.onPodChange(event);
    } else if (
      event.resource === R.volumeattachments &&
      event.type !== 'DELETED' &&
      event.object.status?.attached === true
    ) {
      const kubelet = this.kubelets.get(event.object.spec?.nodeName ?? '');
      if (kubelet?.alive) this.pods.volumeAttached(kubelet);
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
    this.status.startHeartbeats(kubelet);
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
      contain(this.ctx, this.name, () =>
        this.status.reportStarted(kubelet, { nodeIndex: index, quiet: !isNew }),
      );
      for (const pod of this.ctx.store.podsOnNode(kubelet.name))
        contain(this.ctx, this.name, () => this.pods.takeOver(kubelet, pod));
    }
  }

  private removeKubelet(name: string): void {
    const kubelet = this.kubelets.get(name);
    if (!kubelet) return;
    kubelet.restart?.timer.cancel();
    for (const resolve of kubelet.restart?.waiters ?? []) resolve();
    this.kubelets.delete(name);
    this.status.forget(kubelet);
    this.pods.forgetNode(name);
  }

  private goDown(kubelet: SimKubelet): void {
    const now = rfc3339(this.ctx.clock.now());
    this.status.reportDown(kubelet);
    kubelet.alive = false;
    kubelet.downSince = this.ctx.clock.now();
    this.pods.podsLoseReadiness(kubelet, now);
    for (const listener of this.livenessListeners) listener(kubelet.name, false);
  }

  private comeBack(kubelet: SimKubelet, kubeletVersion: string | undefined): void {
    if (this.kubelets.get(kubelet.name) !== kubelet) return;
    this.status.beforeKubeletStarts();
    kubelet.alive = true;
    kubelet.downSince = undefined;
    // A reboot into a new version is a new machine image: the images pulled before are gone.
    if (kubeletVersion) {
      kubelet.images.clear();
      kubelet.bootImages = undefined;
    }
    this.status.reportStarted(kubelet, { kubeletVersion, rebooted: true });
    this.pods.restartPods(kubelet);
    for (const listener of this.livenessListeners) listener(kubelet.name, true);
    this.status.resumeHeartbeats(kubelet);
  }
}
