/**
 * The node lifecycle controller and its taint manager:
 * - mirrors `spec.unschedulable` as the taint node.kubernetes.io/unschedulable:NoSchedule;
 * - a node whose kubelet has been down for timing.nodeMonitorGraceMs gets every condition Unknown
 *   (NodeStatusUnknown, "Kubelet stopped posting node status."); Ready Unknown means the
 *   node.kubernetes.io/unreachable taints, Ready False the node.kubernetes.io/not-ready taints (NoSchedule
 *   and NoExecute), and the node's pods get Ready=False; taints go when the node is Ready again;
 * - taint-based eviction: a pod that does not tolerate a NoExecute taint is deleted at once, one that
 *   tolerates it for tolerationSeconds is deleted when they run out (condition DisruptionTarget,
 *   reason DeletionByTaintManager).
 *
 * Usage: `new NodeLifecycle(ctx, kubeletFleet)`. Without a liveness source (the fleet) it only reacts to
 * the conditions written on nodes; see node-liveness.ts for why liveness is not read from Leases.
 */
import { type Taint, type Timer, type Toleration, toleratesTaint } from '../../core/index.ts';
import { R } from '../api/resources.ts';
import type { Actor, SandboxContext } from '../context.ts';
import { countPodDisruption } from '../metrics/pod-disruptions.ts';
import { deleteObject, rfc3339 } from '../store/deletion.ts';
import type { KubeObject, StoreEvent } from '../store/types.ts';
import { contain, contained } from './contain-errors.ts';
import type { KubeletLiveness } from './node-liveness.ts';
import {
  heartbeatOnly,
  type NodeCondition,
  nodeReadyStatus,
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  TAINT_UNSCHEDULABLE,
  taintsOf,
} from './node-status.ts';
import {
  isDaemonSetPod,
  isMirrorPod,
  isPodReady,
  isTerminal,
  setPodCondition,
  statusOf,
} from './pod-status.ts';

/**
 * What the DefaultTolerationSeconds admission plugin gives every pod that does not say otherwise:
 * 300 s on not-ready and unreachable nodes before eviction.
 */
export const DEFAULT_TOLERATION_SECONDS = 300;
const MANAGED_TAINTS = new Set([TAINT_UNSCHEDULABLE, TAINT_NOT_READY, TAINT_UNREACHABLE]);

interface PlannedEviction {
  uid: string;
  at: number;
  timer: Timer;
}

export class NodeLifecycle implements Actor {
  readonly name = 'node-lifecycle-controller';
  private readonly dirty = new Set<string>();
  private syncTimer?: Timer;
  private readonly graceTimers = new Map<string, Timer>();
  private readonly evictions = new Map<string, PlannedEviction>();
  /** Whether each node was Ready when last synced, to notice it stop being so. */
  private readonly lastReady = new Map<string, boolean>();
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly ctx: SandboxContext,
    private readonly liveness?: KubeletLiveness,
  ) {}

  start(): void {
    this.unsubscribe.push(
      this.ctx.store.onChange(contained(this.ctx, this.name, (event) => this.onChange(event))),
    );
    if (this.liveness) {
      const liveness = this.liveness;
      this.unsubscribe.push(
        liveness.onLivenessChange(
          contained(this.ctx, this.name, (node, alive) => this.onLiveness(node, alive)),
        ),
      );
    }
    for (const node of this.ctx.store.list(R.nodes)) {
      const name = node.metadata.name ?? '';
      this.markDirty(name);
      if (this.liveness && !this.liveness.isKubeletAlive(name)) this.onLiveness(name, false);
    }
  }

  stop(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    this.syncTimer?.cancel();
    this.syncTimer = undefined;
    for (const timer of this.graceTimers.values()) timer.cancel();
    for (const eviction of this.evictions.values()) eviction.timer.cancel();
    this.graceTimers.clear();
    this.evictions.clear();
    this.dirty.clear();
    this.lastReady.clear();
  }

  private onChange(event: StoreEvent): void {
    if (event.resource === R.nodes) {
      const name = event.object.metadata.name ?? '';
      if (event.type === 'DELETED') {
        this.graceTimers.get(name)?.cancel();
        this.graceTimers.delete(name);
        this.lastReady.delete(name);
      } else if (!this.changesNothing(event)) {
        this.markDirty(name);
      }
    } else if (event.resource === R.pods) {
      const pod = event.object;
      if (event.type === 'DELETED') {
        this.cancelEviction(podKey(pod));
        return;
      }
      const nodeName: string | undefined = pod.spec?.nodeName;
      const node = nodeName ? this.ctx.store.get(R.nodes, undefined, nodeName) : undefined;
      if (node) this.planEviction(pod, node);
      else this.cancelEviction(podKey(pod));
    }
  }

  /** The fleet tells us when a kubelet stops; past the grace period without it coming back, the node is Unknown. */
  private onLiveness(nodeName: string, alive: boolean): void {
    this.graceTimers.get(nodeName)?.cancel();
    this.graceTimers.delete(nodeName);
    if (alive) return;
    const since = this.liveness?.kubeletDownSince(nodeName) ?? this.ctx.clock.now();
    const wait = Math.max(0, since + this.ctx.timing.nodeMonitorGraceMs - this.ctx.clock.now());
    this.graceTimers.set(
      nodeName,
      this.ctx.clock.setTimer(
        wait,
        contained(this.ctx, this.name, () => {
          this.graceTimers.delete(nodeName);
          if (this.liveness?.isKubeletAlive(nodeName)) return;
          this.markNodeUnknown(nodeName);
        }),
      ),
    );
  }

  private markNodeUnknown(nodeName: string): void {
    const now = rfc3339(this.ctx.clock.now());
    this.ctx.store.mutate(R.nodes, undefined, nodeName, (node) => {
      const conditions = (node.status?.conditions ?? []) as NodeCondition[];
      if (conditions.length === 0) {
        statusOf(node).conditions = [
          { type: 'Ready', status: 'Unknown', ...UNKNOWN, lastTransitionTime: now },
        ];
        return;
      }
      if (conditions.every((c) => c.status === 'Unknown')) return false;
      for (const c of conditions) {
        if (c.status !== 'Unknown') c.lastTransitionTime = now;
        Object.assign(c, { status: 'Unknown', ...UNKNOWN });
      }
    });
  }

  /**
   * A status report of a Ready node without NoExecute taints: the sync it would cause computes the taints and
   * readiness of the previous one, whose sync has run or is pending, and looks at no pod.
   */
  private changesNothing(event: StoreEvent): boolean {
    const node = event.object;
    return (
      event.previous !== undefined &&
      heartbeatOnly(event.previous, node) &&
      nodeReadyStatus(node) === 'True' &&
      !taintsOf(node).some((t) => t.effect === 'NoExecute')
    );
  }

  private markDirty(nodeName: string): void {
    this.dirty.add(nodeName);
    // Note: syncing happens in a timer, never inside the store's change notification.
    this.syncTimer ??= this.ctx.clock.setTimer(0, () => {
      this.syncTimer = undefined;
      const names = [...this.dirty];
      this.dirty.clear();
      // Note: one node at a time, so a node the controller cannot make sense of holds up no other.
      for (const name of names) contain(this.ctx, this.name, () => this.syncNode(name));
    });
  }

  private syncNode(nodeName: string): void {
    const now = rfc3339(this.ctx.clock.now());
    let node = this.ctx.store.get(R.nodes, undefined, nodeName);
    if (!node) return;
    const current = taintsOf(node);
    const wanted = desiredTaints(node, current, now);
    const taintsChanged = !sameTaints(current, wanted);
    if (taintsChanged) {
      node = this.ctx.store.mutate(R.nodes, undefined, nodeName, (draft) => {
        draft.spec ??= {};
        if (wanted.length > 0) draft.spec.taints = wanted;
        else delete draft.spec.taints;
      });
      if (!node) return;
    }
    const ready = nodeReadyStatus(node);
    const wasReady = this.lastReady.get(nodeName);
    this.lastReady.set(nodeName, ready === 'True');
    // As the real controller: an Event when it sees a node that was Ready stop being so (not on recovery).
    if (wasReady === true && ready !== 'True')
      this.ctx.recordEvent(
        node,
        'Normal',
        'NodeNotReady',
        `Node ${nodeName} status is now: NodeNotReady`,
        'node-controller',
      );
    // Note: a heartbeat of a healthy node must stay cheap: no pod is looked at unless something is wrong.
    const notReady = ready === 'False' || ready === 'Unknown';
    const noExecute = wanted.some((t) => t.effect === 'NoExecute');
    if (!notReady && !noExecute && !taintsChanged) return;
    for (const pod of this.ctx.store.podsOnNode(nodeName)) {
      if (notReady && !isTerminal(pod) && isPodReady(pod)) {
        this.ctx.store.mutate(R.pods, pod.metadata.namespace, pod.metadata.name ?? '', (draft) =>
          setPodCondition(statusOf(draft), { type: 'Ready', status: 'False' }, now),
        );
      }
      this.planEviction(pod, node);
    }
  }

  /** Sets, moves or cancels the pod's eviction for the node's NoExecute taints; writes nothing. */
  private planEviction(pod: KubeObject, node: KubeObject): void {
    const key = podKey(pod);
    const noExecute = taintsOf(node).filter((t) => t.effect === 'NoExecute');
    if (noExecute.length === 0 || pod.metadata.deletionTimestamp || isTerminal(pod)) {
      this.cancelEviction(key);
      return;
    }
    const at = evictionTime(pod, noExecute, this.ctx.clock.now());
    const planned = this.evictions.get(key);
    if (planned && planned.uid === pod.metadata.uid && planned.at === at) return;
    this.cancelEviction(key);
    if (at === undefined) return;
    const uid = pod.metadata.uid ?? '';
    const timer = this.ctx.clock.setTimer(
      Math.max(0, at - this.ctx.clock.now()),
      contained(this.ctx, this.name, () => this.evict(key, uid)),
    );
    this.evictions.set(key, { uid, at, timer });
  }

  private cancelEviction(key: string): void {
    const planned = this.evictions.get(key);
    if (!planned) return;
    planned.timer.cancel();
    this.evictions.delete(key);
  }

  private evict(key: string, uid: string): void {
    this.evictions.delete(key);
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const pod = this.ctx.store.get(R.pods, namespace, name);
    if (!pod || pod.metadata.uid !== uid || pod.metadata.deletionTimestamp) return;
    const now = rfc3339(this.ctx.clock.now());
    this.ctx.store.mutate(R.pods, namespace, name, (draft) =>
      setPodCondition(
        statusOf(draft),
        {
          type: 'DisruptionTarget',
          status: 'True',
          reason: 'DeletionByTaintManager',
          message: 'Taint manager: deleting due to NoExecute taint',
        },
        now,
      ),
    );
    this.ctx.recordEvent(
      pod,
      'Normal',
      'TaintManagerEviction',
      `Marking for deletion Pod ${namespace}/${name}`,
      'taint-eviction-controller',
    );
    countPodDisruption(this.ctx.metrics, pod, 'taint-eviction');
    try {
      deleteObject(this.ctx.store, this.ctx.clock, R.pods, namespace, name);
    } catch {
      // Already gone: nothing left to evict.
    }
  }
}

const UNKNOWN = { reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' } as const;

/** The node's taints with the managed ones brought in line with its spec and Ready condition. */
function desiredTaints(node: KubeObject, current: Taint[], now: string): Taint[] {
  const keep = current.filter((t) => !MANAGED_TAINTS.has(t.key));
  const managed: Taint[] = [];
  const add = (key: string, effect: string) => {
    const existing = current.find((t) => t.key === key && t.effect === effect);
    managed.push({ key, effect, timeAdded: existing?.timeAdded ?? now });
  };
  if (node.spec?.unschedulable) add(TAINT_UNSCHEDULABLE, 'NoSchedule');
  const ready = nodeReadyStatus(node);
  const conditionTaint =
    ready === 'False' ? TAINT_NOT_READY : ready === 'Unknown' ? TAINT_UNREACHABLE : undefined;
  if (conditionTaint) {
    add(conditionTaint, 'NoSchedule');
    add(conditionTaint, 'NoExecute');
  }
  return [...keep, ...managed];
}

function sameTaints(a: Taint[], b: Taint[]): boolean {
  if (a.length !== b.length) return false;
  const keyOf = (t: Taint) => `${t.key}=${t.value ?? ''}:${t.effect}`;
  const left = new Set(a.map(keyOf));
  return b.every((t) => left.has(keyOf(t)));
}

/**
 * When the taint manager deletes the pod: now for an untolerated NoExecute taint, otherwise when the
 * shortest tolerationSeconds among the tolerations in use runs out (counted from the taint's timeAdded);
 * undefined when the pod tolerates the taints forever.
 */
function evictionTime(pod: KubeObject, taints: Taint[], now: number): number | undefined {
  const tolerations = effectiveTolerations(pod);
  let at: number | undefined;
  for (const taint of taints) {
    const matching = tolerations.filter((t) => toleratesTaint(t, taint));
    if (matching.length === 0) return now;
    const added = taint.timeAdded ? Date.parse(taint.timeAdded) : now;
    for (const t of matching) {
      if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
      const until = added + Math.max(0, t.tolerationSeconds) * 1000;
      at = at === undefined ? until : Math.min(at, until);
    }
  }
  return at;
}

/**
 * The pod's tolerations plus what admission and the DaemonSet controller would have added: DaemonSet and
 * static pods tolerate not-ready and unreachable forever, other pods for DEFAULT_TOLERATION_SECONDS.
 */
function effectiveTolerations(pod: KubeObject): Toleration[] {
  const own = (pod.spec?.tolerations ?? []) as Toleration[];
  const forever = isDaemonSetPod(pod) || isMirrorPod(pod);
  const extra: Toleration[] = [];
  for (const key of [TAINT_NOT_READY, TAINT_UNREACHABLE]) {
    const taint: Taint = { key, effect: 'NoExecute' };
    if (own.some((t) => toleratesTaint(t, taint))) continue;
    extra.push(
      forever
        ? { key, operator: 'Exists', effect: 'NoExecute' }
        : { key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: DEFAULT_TOLERATION_SECONDS },
    );
  }
  return extra.length > 0 ? [...own, ...extra] : own;
}

function podKey(pod: KubeObject): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}
