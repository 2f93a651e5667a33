/**
 * The default scheduler: binds pending pods (no spec.nodeName, schedulerName unset or "default-scheduler")
 * to nodes that pass its filters, preferring the least allocated node, and spreading pods as the real
 * default profile does (topology spread constraints and their defaults by hostname and zone, pod
 * anti-affinity: see pod-spreading.ts), away from nodes with PreferNoSchedule taints the pod does not
 * tolerate (TaintToleration's score). Writes `Scheduled` and `FailedScheduling` Events.
 *
 * Filters, in the order their failures are reported: NodeUnschedulable, node selector and required node
 * affinity, taints (NoSchedule/NoExecute) against tolerations — a node not Ready, or whose kubelet is down,
 * counts as carrying the not-ready/unreachable taint — then requests (cpu, memory) and the pod count
 * against allocatable.
 *
 * Scale (150,000 pods on 5,000 nodes): per-node requested totals are kept incrementally from store
 * changes; nodes passing the static filters are cached per pod "shape" (selector, affinity, tolerations)
 * and re-filtered only when a node's scheduling-relevant fields change (heartbeats do not count), the node
 * then joining or leaving the shape's candidates and their topology domain counts by itself (a rebuild over
 * every node on each cordon grew with the square of the cluster); like the real scheduler, a pod is placed
 * among the first feasible nodes found from a rotating start (percentageOfNodesToScore), not all of them.
 *
 * Usage: `new Scheduler(ctx, kubeletFleet?)`, then start()/stop().
 */
import {
  firstUntoleratedTaint,
  parseBytes,
  parseCpuMillis,
  type Taint,
  type Timer,
  type Toleration,
  tolerates,
  toleratesTaint,
} from '../../core/index.ts';
import { R } from '../api/resources.ts';
import type { Actor, SandboxContext } from '../context.ts';
import { rfc3339 } from '../store/deletion.ts';
import type { KubeObject, StoreEvent } from '../store/types.ts';
import { contain, contained } from './contain-errors.ts';
import type { KubeletLiveness } from './node-liveness.ts';
import {
  heartbeatOnly,
  nodeReadyStatus,
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  TAINT_UNSCHEDULABLE,
  taintsOf,
} from './node-status.ts';
import { podRequests } from './pod-requests.ts';
import {
  controllerOf,
  type PlacedPods,
  type PlacementRules,
  placementRules,
  type TopologyNode,
} from './pod-spreading.ts';
import { isTerminal, setPodCondition, statusOf } from './pod-status.ts';
import { describeTaint, matchesNodeSelectorAndAffinity } from './sched-predicates.ts';

export const DEFAULT_SCHEDULER = 'default-scheduler';
/** How often pods that did not fit are tried again even when nothing seemed to change. */
const UNSCHEDULABLE_RETRY_MS = 10_000;
/** After a change that may free room, unschedulable pods are retried once this much later. */
const RETRY_DEBOUNCE_MS = 1_000;
/** Pods bound per timer callback, so a burst of 100,000 pods does not block the event loop. */
const BATCH = 2_000;
/** A FailedScheduling event repeats at most this often for the same pod and message. */
const EVENT_REPEAT_MS = 5 * 60_000;
/** The scheduler's non-zero defaults for pods without requests, used only for scoring. */
const DEFAULT_SCORE_CPU = 100;
const DEFAULT_SCORE_MEMORY = 200 * 2 ** 20;
/** The default profile's weights (KubeSchedulerConfiguration v1): TaintToleration 3, spreading 2, resources 1. */
const TAINT_TOLERATION_WEIGHT = 3;

interface NodeSlot extends TopologyNode {
  name: string;
  node: KubeObject;
  /** The node's labels (`node.metadata.labels`): what the shapes' topology domains counted it under. */
  labels: Record<string, string> | undefined;
  fingerprint: string;
  allocCpu: number;
  allocMemory: number;
  allocPods: number;
  cpu: number;
  memory: number;
  pods: number;
  scoreCpu: number;
  scoreMemory: number;
  /** The node's PreferNoSchedule taints: only scoring reads them. */
  preferNoSchedule: Taint[];
}

interface Accounted {
  node: string;
  cpu: number;
  memory: number;
  scoreCpu: number;
  scoreMemory: number;
  namespace: string;
  labels: Record<string, string> | undefined;
  /** The controller the default spreading groups the pod with (see pod-spreading.ts). */
  controller?: string;
}

/** Pods alike in what the static filters read (selector, affinity, tolerations), and where they may go. */
interface Shape {
  /** One pod of the shape, to run the static filters on. */
  pod: KubeObject;
  /** The static filter's verdict per node: a rejection reason, or undefined when the node is a candidate. */
  verdicts: Map<string, string | undefined>;
  /** Nodes rejected by the static filters, by reason. */
  rejected: Map<string, number>;
  /** Candidate nodes in name order, kept in order as verdicts change (refreshVerdicts). */
  candidates: NodeSlot[];
  /**
   * Per topology key asked about, how many candidates hold each value of it (a value with none is absent):
   * counted once when first asked, then kept with the candidates.
   */
  domains: Map<string, Map<string, number>>;
  /** The pod's tolerations that can tolerate a PreferNoSchedule taint (effect PreferNoSchedule or none). */
  preferNoScheduleTolerations: Toleration[];
  /** Per node, how many of its PreferNoSchedule taints the pod does not tolerate: counted when first needed. */
  untolerated: Map<string, number>;
  nextStart: number;
}

interface Unschedulable {
  message?: string;
  eventAt?: number;
}

export class Scheduler implements Actor {
  readonly name = 'scheduler';
  private readonly nodes = new Map<string, NodeSlot>();
  private readonly accounted = new Map<string, Accounted>();
  /** Bound pods by namespace, and pods per node by controller: what spreading and anti-affinity count. */
  private readonly byNamespace = new Map<string, Map<string, Accounted>>();
  private readonly byController = new Map<string, Map<string, number>>();
  private readonly placed: PlacedPods = {
    inNamespace: (namespace) => this.byNamespace.get(namespace)?.values() ?? [],
    ofController: (uid) => this.byController.get(uid),
    nodeLabels: (node) => this.nodes.get(node)?.node.metadata.labels,
  };
  private readonly active = new Set<string>();
  private readonly unschedulable = new Map<string, Unschedulable>();
  private readonly shapes = new Map<string, Shape>();
  /** Failure messages of this round by shape and requests: identical pods fail identically. */
  private failures = new Map<string, string>();
  private sortedNodeNames?: string[];
  private tick?: Timer;
  private retry?: Timer;
  private periodic?: Timer;
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly ctx: SandboxContext,
    private readonly liveness?: KubeletLiveness,
  ) {}

  start(): void {
    for (const node of this.ctx.store.list(R.nodes)) this.upsertNode(node);
    for (const pod of this.ctx.store.list(R.pods)) this.onPod({ type: 'ADDED', pod });
    this.unsubscribe.push(
      this.ctx.store.onChange(contained(this.ctx, this.name, (event) => this.onChange(event))),
    );
    if (this.liveness) {
      this.unsubscribe.push(
        this.liveness.onLivenessChange(
          contained(this.ctx, this.name, (nodeName) => {
            this.refreshVerdicts(nodeName, this.nodes.get(nodeName)?.labels);
            this.requestRetry();
          }),
        ),
      );
    }
  }

  stop(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    this.tick?.cancel();
    this.retry?.cancel();
    this.periodic?.cancel();
    this.tick = this.retry = this.periodic = undefined;
  }

  /**
   * What the scheduler keeps about pods shaped like `pod` (alike in what its static filters read): the
   * candidate nodes in the order they are tried, the other nodes counted by reason, for each of
   * `topologyKeys` how many candidates are in each domain, and per node the PreferNoSchedule taints the pod
   * does not tolerate. Kept by changes, not recomputed, so tests hold it to what a scheduler started afresh
   * on the same cluster computes.
   */
  shapeView(pod: KubeObject, topologyKeys: readonly string[]) {
    const shape = this.shapeFor(shapeKeyOf(pod), pod);
    const sorted = (entries: Iterable<[string, number]>) => Object.fromEntries([...entries].sort());
    return {
      candidates: shape.candidates.map((slot) => slot.name),
      rejected: sorted(shape.rejected),
      domains: Object.fromEntries(topologyKeys.map((key) => [key, sorted(this.domainsOf(shape, key))])),
      untoleratedPreferNoSchedule: sorted(
        [...this.nodes.values()].map((slot): [string, number] => [slot.name, untoleratedCount(shape, slot)]),
      ),
    };
  }

  private onChange(event: StoreEvent): void {
    if (event.resource === R.pods) {
      this.onPod({ type: event.type, pod: event.object });
    } else if (event.resource === R.nodes) {
      if (event.type === 'DELETED') {
        const name = event.object.metadata.name ?? '';
        const removed = this.nodes.get(name);
        this.nodes.delete(name);
        this.sortedNodeNames = undefined;
        this.refreshVerdicts(name, removed?.labels);
      } else {
        this.upsertNode(event.object);
      }
    }
  }

  private onPod({ type, pod }: { type: StoreEvent['type']; pod: KubeObject }): void {
    const key = podKey(pod);
    const nodeName: string | undefined = pod.spec?.nodeName;
    const before = this.accounted.get(key);
    const counts = type !== 'DELETED' && nodeName !== undefined && nodeName !== '' && !isTerminal(pod);
    if (before && (!counts || before.node !== nodeName)) {
      this.unaccount(key, before);
      this.failures.clear();
      this.requestRetry();
    }
    if (counts && !this.accounted.has(key)) this.account(key, nodeName, pod);

    const wantsScheduling =
      type !== 'DELETED' &&
      !nodeName &&
      !pod.metadata.deletionTimestamp &&
      (pod.spec?.schedulerName ?? DEFAULT_SCHEDULER) === DEFAULT_SCHEDULER;
    if (!wantsScheduling) {
      this.active.delete(key);
      this.unschedulable.delete(key);
    } else if (!this.unschedulable.has(key) && !this.active.has(key)) {
      this.active.add(key);
      this.scheduleTick();
    }
  }

  private account(key: string, nodeName: string, pod: KubeObject): void {
    const req = podRequests(pod);
    const entry: Accounted = {
      node: nodeName,
      cpu: req.cpuMillis,
      memory: req.memoryBytes,
      scoreCpu: req.cpuMillis || DEFAULT_SCORE_CPU,
      scoreMemory: req.memoryBytes || DEFAULT_SCORE_MEMORY,
      namespace: pod.metadata.namespace ?? 'default',
      labels: pod.metadata.labels,
      controller: controllerOf(pod),
    };
    this.accounted.set(key, entry);
    const inNamespace = this.byNamespace.get(entry.namespace) ?? new Map<string, Accounted>();
    this.byNamespace.set(entry.namespace, inNamespace);
    inNamespace.set(key, entry);
    if (entry.controller) {
      const onNodes = this.byController.get(entry.controller) ?? new Map<string, number>();
      this.byController.set(entry.controller, onNodes);
      onNodes.set(nodeName, (onNodes.get(nodeName) ?? 0) + 1);
    }
    const slot = this.nodes.get(nodeName);
    if (slot) addTo(slot, entry, 1);
  }

  private unaccount(key: string, entry: Accounted): void {
    this.accounted.delete(key);
    const inNamespace = this.byNamespace.get(entry.namespace);
    inNamespace?.delete(key);
    if (inNamespace?.size === 0) this.byNamespace.delete(entry.namespace);
    const onNodes = entry.controller ? this.byController.get(entry.controller) : undefined;
    if (onNodes) {
      const left = (onNodes.get(entry.node) ?? 0) - 1;
      if (left > 0) onNodes.set(entry.node, left);
      else onNodes.delete(entry.node);
      if (onNodes.size === 0) this.byController.delete(entry.controller!);
    }
    const slot = this.nodes.get(entry.node);
    if (slot) addTo(slot, entry, -1);
  }

  private upsertNode(node: KubeObject): void {
    const name = node.metadata.name ?? '';
    const fingerprint = schedulingFingerprint(node);
    const existing = this.nodes.get(name);
    // Note: a kubelet's status report every 5 minutes per node changes nothing the fingerprint reads.
    if (existing && heartbeatOnly(existing.node, node)) {
      existing.node = node;
      return;
    }
    let previousLabels: Record<string, string> | undefined;
    if (existing) {
      // Note: the labels are part of the fingerprint, so a heartbeat's new object has labels alike.
      previousLabels = existing.labels;
      existing.node = node;
      existing.labels = node.metadata.labels;
      if (existing.fingerprint === fingerprint) return;
      existing.fingerprint = fingerprint;
      Object.assign(existing, allocatableOf(node));
      existing.preferNoSchedule = preferNoScheduleTaints(node);
    } else {
      const slot: NodeSlot = {
        name,
        node,
        labels: node.metadata.labels,
        fingerprint,
        ...allocatableOf(node),
        cpu: 0,
        memory: 0,
        pods: 0,
        scoreCpu: 0,
        scoreMemory: 0,
        preferNoSchedule: preferNoScheduleTaints(node),
      };
      for (const pod of this.ctx.store.podsOnNode(name)) {
        const entry = this.accounted.get(podKey(pod));
        if (entry) addTo(slot, entry, 1);
      }
      this.nodes.set(name, slot);
      this.sortedNodeNames = undefined;
    }
    this.refreshVerdicts(name, previousLabels);
    this.requestRetry();
  }

  /**
   * Re-runs the static filters of one node for every known shape, and keeps each shape's candidates (in name
   * order) and topology domain counts current: a node joins or leaves the candidates, or moves between
   * domains, without a walk over every node. `previousLabels` are the labels the node was counted under
   * (undefined for a node new to the scheduler).
   */
  private refreshVerdicts(nodeName: string, previousLabels: Record<string, string> | undefined): void {
    this.failures.clear();
    const slot = this.nodes.get(nodeName);
    for (const shape of this.shapes.values()) {
      shape.untolerated.delete(nodeName);
      const had = shape.verdicts.has(nodeName);
      const before = shape.verdicts.get(nodeName);
      if (had) countReason(shape.rejected, before, -1);
      let after: string | undefined;
      if (slot) {
        after = this.staticRejection(slot, shape.pod);
        shape.verdicts.set(nodeName, after);
        countReason(shape.rejected, after, 1);
      } else {
        shape.verdicts.delete(nodeName);
      }
      const wasCandidate = had && before === undefined;
      const isCandidate = slot !== undefined && after === undefined;
      if (wasCandidate) {
        countDomains(shape, previousLabels, -1);
        if (!isCandidate) removeCandidate(shape.candidates, nodeName);
      }
      if (isCandidate) {
        countDomains(shape, slot.labels, 1);
        if (!wasCandidate) insertCandidate(shape.candidates, slot);
      }
    }
  }

  private scheduleTick(): void {
    this.tick ??= this.ctx.clock.setTimer(
      0,
      contained(this.ctx, this.name, () => {
        this.tick = undefined;
        this.scheduleBatch();
      }),
    );
  }

  /** Unschedulable pods go back to the active queue after a short debounce. */
  private requestRetry(): void {
    if (this.unschedulable.size === 0 || this.retry) return;
    this.retry = this.ctx.clock.setTimer(
      RETRY_DEBOUNCE_MS,
      contained(this.ctx, this.name, () => {
        this.retry = undefined;
        this.retryUnschedulable();
      }),
    );
  }

  private retryUnschedulable(): void {
    for (const key of this.unschedulable.keys()) this.active.add(key);
    if (this.active.size > 0) this.scheduleTick();
  }

  private ensurePeriodicRetry(): void {
    if (this.periodic || this.unschedulable.size === 0) return;
    this.periodic = this.ctx.clock.setTimer(UNSCHEDULABLE_RETRY_MS, () => {
      this.periodic = undefined;
      contain(this.ctx, this.name, () => this.retryUnschedulable());
      this.ensurePeriodicRetry();
    });
  }

  private scheduleBatch(): void {
    let done = 0;
    for (const key of this.active) {
      if (done++ >= BATCH) break;
      this.active.delete(key);
      const [namespace, name] = splitKey(key);
      const pod = this.ctx.store.get(R.pods, namespace, name);
      if (!pod || pod.spec?.nodeName || pod.metadata.deletionTimestamp) {
        this.unschedulable.delete(key);
        continue;
      }
      contain(this.ctx, this.name, () => this.schedulePod(key, pod));
    }
    if (this.active.size > 0) this.scheduleTick();
    else this.failures.clear();
    this.ensurePeriodicRetry();
  }

  private schedulePod(key: string, pod: KubeObject): void {
    const shapeKey = shapeKeyOf(pod);
    const req = podRequests(pod);
    const failureKey = `${shapeKey}|${req.cpuMillis}|${req.memoryBytes}`;
    const known = this.failures.get(failureKey);
    const shape = this.shapeFor(shapeKey, pod);
    const rules = placementRules(pod, this.placed, (topologyKey) => this.domainsOf(shape, topologyKey));
    // Note: pods alike in shape and requests fail alike, unless rules about other pods filter nodes.
    if (known && !rules?.filters) {
      this.markUnschedulable(key, pod, known);
      return;
    }
    const node = this.pickNode(shape, req.cpuMillis, req.memoryBytes, rules);
    if (!node) {
      const message = this.failureMessage(shape, req.cpuMillis, req.memoryBytes, rules);
      if (!rules?.filters) this.failures.set(failureKey, message);
      this.markUnschedulable(key, pod, message);
      return;
    }
    this.unschedulable.delete(key);
    const now = rfc3339(this.ctx.clock.now());
    const bound = this.ctx.store.mutate(R.pods, pod.metadata.namespace, pod.metadata.name ?? '', (draft) => {
      if (draft.spec?.nodeName || draft.metadata.deletionTimestamp) return false;
      draft.spec.nodeName = node.name;
      setPodCondition(statusOf(draft), { type: 'PodScheduled', status: 'True' }, now);
    });
    if (!bound || bound === pod) return;
    this.ctx.recordEvent(
      pod,
      'Normal',
      'Scheduled',
      `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node.name}`,
      DEFAULT_SCHEDULER,
    );
  }

  /**
   * Least allocated among the first feasible nodes found from a rotating start; ties go to the lower name.
   * With placement rules, nodes they reject are not feasible, and the score adds the spreading and
   * anti-affinity preferences, as the default scheduler's plugins weigh them: resources (0–100) × 1,
   * topology spread (0–100) × 2, inter-pod anti-affinity (0–100) × 2, each normalized over the nodes found;
   * and always the PreferNoSchedule taints the pod does not tolerate (0–100) × 3 (addTaintToleration).
   */
  private pickNode(shape: Shape, cpu: number, memory: number, rules?: PlacementRules): NodeSlot | undefined {
    const candidates = shape.candidates;
    const n = candidates.length;
    if (n === 0) return undefined;
    const wanted = feasibleNodesToFind(n);
    const scoreCpu = cpu || DEFAULT_SCORE_CPU;
    const scoreMemory = memory || DEFAULT_SCORE_MEMORY;
    const found: Array<{ slot: NodeSlot; score: number }> = [];
    let examined = 0;
    for (; examined < n && found.length < wanted; examined++) {
      const slot = candidates[(shape.nextStart + examined) % n]!;
      if (!fits(slot, cpu, memory)) continue;
      if (rules?.filters && rules.reject(slot)) continue;
      const resources =
        freeRatio(slot.allocCpu, slot.scoreCpu + scoreCpu) +
        freeRatio(slot.allocMemory, slot.scoreMemory + scoreMemory);
      found.push({ slot, score: resources * 50 });
    }
    shape.nextStart = (shape.nextStart + examined) % n;
    if (rules?.spreadCost) addNormalized(found, rules.spreadCost, 2);
    if (rules?.antiAffinityCost) addNormalized(found, rules.antiAffinityCost, 2);
    addTaintToleration(found, shape);
    let best: { slot: NodeSlot; score: number } | undefined;
    for (const f of found)
      if (!best || f.score > best.score || (f.score === best.score && f.slot.name < best.slot.name)) best = f;
    return best?.slot;
  }

  /**
   * The topology domains (values of the label `topologyKey`) among the shape's candidate nodes, with how many
   * candidates each holds: counted over the candidates the first time a key is asked about, then kept current
   * by refreshVerdicts.
   */
  private domainsOf(shape: Shape, topologyKey: string): ReadonlyMap<string, number> {
    let domains = shape.domains.get(topologyKey);
    if (!domains) {
      domains = new Map();
      for (const slot of shape.candidates) {
        const value = slot.labels?.[topologyKey];
        if (value !== undefined) domains.set(value, (domains.get(value) ?? 0) + 1);
      }
      shape.domains.set(topologyKey, domains);
    }
    return domains;
  }

  /**
   * The shape's candidate nodes. A new shape runs the static filters on every node once; after that only
   * the nodes that change are re-filtered (refreshVerdicts), so a cordon costs one check per shape.
   */
  private shapeFor(shapeKey: string, pod: KubeObject): Shape {
    let shape = this.shapes.get(shapeKey);
    if (!shape) {
      if (this.shapes.size >= 1_000) this.shapes.clear();
      shape = {
        pod,
        verdicts: new Map(),
        rejected: new Map(),
        candidates: [],
        domains: new Map(),
        preferNoScheduleTolerations: ((pod.spec?.tolerations ?? []) as Toleration[]).filter(
          (t) => !t.effect || t.effect === 'PreferNoSchedule',
        ),
        untolerated: new Map(),
        nextStart: 0,
      };
      for (const slot of this.nodes.values()) {
        const verdict = this.staticRejection(slot, pod);
        shape.verdicts.set(slot.name, verdict);
        countReason(shape.rejected, verdict, 1);
      }
      this.sortedNodeNames ??= [...this.nodes.keys()].sort();
      for (const name of this.sortedNodeNames)
        if (shape.verdicts.get(name) === undefined) shape.candidates.push(this.nodes.get(name)!);
      this.shapes.set(shapeKey, shape);
    }
    return shape;
  }

  private staticRejection(slot: NodeSlot, pod: KubeObject): string | undefined {
    const node = slot.node;
    const tolerations = (pod.spec?.tolerations ?? []) as Toleration[];
    if (node.spec?.unschedulable) {
      const taint: Taint = { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' };
      if (!tolerations.some((t) => toleratesTaint(t, taint))) return 'node(s) were unschedulable';
    }
    if (!matchesNodeSelectorAndAffinity(pod, node))
      return "node(s) didn't match Pod's node affinity/selector";
    const taints = taintsOf(node);
    const implicit = this.implicitTaint(slot);
    const untolerated = firstUntoleratedTaint(implicit ? [...taints, implicit] : taints, tolerations);
    if (untolerated) return `node(s) had untolerated taint ${describeTaint(untolerated)}`;
    return undefined;
  }

  /**
   * A node whose kubelet is down or that is not Ready counts as tainted, as it soon will be: the real
   * scheduler relies on the node lifecycle controller's taints, which lag by the monitor grace period.
   */
  private implicitTaint(slot: NodeSlot): Taint | undefined {
    if (this.liveness && !this.liveness.isKubeletAlive(slot.name))
      return { key: TAINT_UNREACHABLE, effect: 'NoSchedule' };
    const ready = nodeReadyStatus(slot.node);
    if (ready === 'Unknown') return { key: TAINT_UNREACHABLE, effect: 'NoSchedule' };
    if (ready !== 'True') return { key: TAINT_NOT_READY, effect: 'NoSchedule' };
    return undefined;
  }

  /** `0/5 nodes are available: 2 Insufficient cpu, 3 node(s) were unschedulable. preemption: …` */
  private failureMessage(shape: Shape, cpu: number, memory: number, rules?: PlacementRules): string {
    const counts = new Map(shape.rejected);
    const bump = (reason: string) => counts.set(reason, (counts.get(reason) ?? 0) + 1);
    for (const slot of shape.candidates) {
      // As the real filters run: resources first; a node short of them is not asked about other pods.
      if (!fits(slot, cpu, memory)) {
        if (slot.pods + 1 > slot.allocPods) bump('Too many pods');
        if (slot.cpu + cpu > slot.allocCpu) bump('Insufficient cpu');
        if (slot.memory + memory > slot.allocMemory) bump('Insufficient memory');
        continue;
      }
      const why = rules?.reject(slot);
      if (why) bump(why);
    }
    const total = this.nodes.size;
    const reasons = [...counts].map(([reason, count]) => `${count} ${reason}`).sort();
    const detail = reasons.length > 0 ? ` ${reasons.join(', ')}.` : '';
    const preemption = `preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`;
    return `0/${total} nodes are available:${detail} ${preemption}`;
  }

  private markUnschedulable(key: string, pod: KubeObject, message: string): void {
    const info = this.unschedulable.get(key) ?? {};
    this.unschedulable.set(key, info);
    const now = this.ctx.clock.now();
    const nowText = rfc3339(now);
    this.ctx.store.mutate(R.pods, pod.metadata.namespace, pod.metadata.name ?? '', (draft) =>
      setPodCondition(
        statusOf(draft),
        { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message },
        nowText,
      ),
    );
    if (info.message !== message || info.eventAt === undefined || now - info.eventAt >= EVENT_REPEAT_MS) {
      info.message = message;
      info.eventAt = now;
      this.ctx.recordEvent(pod, 'Warning', 'FailedScheduling', message, DEFAULT_SCHEDULER);
    }
  }
}

function countReason(rejected: Map<string, number>, reason: string | undefined, delta: 1 | -1): void {
  if (reason === undefined) return;
  const count = (rejected.get(reason) ?? 0) + delta;
  if (count > 0) rejected.set(reason, count);
  else rejected.delete(reason);
}

/** Adds (sign 1) or takes away (−1) a candidate's labels in the shape's domain counts, for each key counted. */
function countDomains(shape: Shape, labels: Record<string, string> | undefined, sign: 1 | -1): void {
  for (const [topologyKey, domains] of shape.domains) {
    const value = labels?.[topologyKey];
    if (value === undefined) continue;
    const count = (domains.get(value) ?? 0) + sign;
    if (count > 0) domains.set(value, count);
    else domains.delete(value);
  }
}

/** Where `name` is, or would go, in candidates kept in name order (the order of a plain sort of the names). */
function candidateIndex(candidates: readonly NodeSlot[], name: string): number {
  let low = 0;
  let high = candidates.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (candidates[mid]!.name < name) low = mid + 1;
    else high = mid;
  }
  return low;
}

function insertCandidate(candidates: NodeSlot[], slot: NodeSlot): void {
  candidates.splice(candidateIndex(candidates, slot.name), 0, slot);
}

function removeCandidate(candidates: NodeSlot[], name: string): void {
  const i = candidateIndex(candidates, name);
  if (candidates[i]?.name === name) candidates.splice(i, 1);
}

/**
 * Adds `weight` × a 0–100 score where the lowest cost scores 100 and the highest 0.
 * Worked example: costs 0, 2, 4 → 100, 50, 0; all equal → 100 each (the preference cannot tell them apart).
 */
function addNormalized(
  found: Array<{ slot: NodeSlot; score: number }>,
  cost: (node: TopologyNode) => number,
  weight: number,
): void {
  const costs = new Array<number>(found.length);
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < found.length; i++) {
    const c = cost(found[i]!.slot);
    costs[i] = c;
    if (c < min) min = c;
    if (c > max) max = c;
  }
  for (let i = 0; i < found.length; i++)
    found[i]!.score += weight * (max === min ? 100 : (100 * (max - costs[i]!)) / (max - min));
}

/**
 * kube-scheduler's TaintToleration score: per node, the count of its PreferNoSchedule taints that none of the
 * pod's tolerations with effect PreferNoSchedule or no effect tolerates; normalized as DefaultNormalizeScore
 * with reverse, against the largest count among the nodes found (not the smallest), in integers: score =
 * 100 − ⌊100 × count ÷ max⌋, or 100 for every node when no node has one. Weight 3.
 * Worked example: counts 0, 1, 2 → 100, 50, 0; counts 1, 1 → 0, 0 (equal: the preference cannot tell them
 * apart); a node with no such taint beats one with a taint by 300, more than resources (100) and
 * topology spread (200) can make up, so only a hard constraint sends a pod to a tainted node.
 * Note: the score goes to every node alike when none found has such a taint, so it is skipped then.
 */
function addTaintToleration(found: Array<{ slot: NodeSlot; score: number }>, shape: Shape): void {
  if (!found.some((f) => f.slot.preferNoSchedule.length > 0)) return;
  const counts = new Array<number>(found.length);
  let max = 0;
  for (let i = 0; i < found.length; i++) {
    const count = untoleratedCount(shape, found[i]!.slot);
    counts[i] = count;
    if (count > max) max = count;
  }
  for (let i = 0; i < found.length; i++)
    found[i]!.score +=
      TAINT_TOLERATION_WEIGHT * (max === 0 ? 100 : 100 - Math.floor((100 * counts[i]!) / max));
}

/** The node's PreferNoSchedule taints that the shape's pods do not tolerate, counted once per node change. */
function untoleratedCount(shape: Shape, slot: NodeSlot): number {
  if (slot.preferNoSchedule.length === 0) return 0;
  let count = shape.untolerated.get(slot.name);
  if (count === undefined) {
    count = slot.preferNoSchedule.filter(
      (taint) => !tolerates(shape.preferNoScheduleTolerations, taint),
    ).length;
    shape.untolerated.set(slot.name, count);
  }
  return count;
}

function preferNoScheduleTaints(node: KubeObject): Taint[] {
  return taintsOf(node).filter((taint) => taint.effect === 'PreferNoSchedule');
}

function fits(slot: NodeSlot, cpu: number, memory: number): boolean {
  return (
    slot.pods + 1 <= slot.allocPods &&
    slot.cpu + cpu <= slot.allocCpu &&
    slot.memory + memory <= slot.allocMemory
  );
}

function freeRatio(allocatable: number, requested: number): number {
  return allocatable <= 0 ? 0 : Math.max(0, allocatable - requested) / allocatable;
}

function addTo(slot: NodeSlot, entry: Accounted, sign: 1 | -1): void {
  slot.cpu += sign * entry.cpu;
  slot.memory += sign * entry.memory;
  slot.pods += sign;
  slot.scoreCpu += sign * entry.scoreCpu;
  slot.scoreMemory += sign * entry.scoreMemory;
}

/**
 * The real scheduler's percentageOfNodesToScore default: all nodes below 100; otherwise 50% minus 1% per
 * 125 nodes, at least 5% and at least 100 nodes. Worked example: 5,000 nodes → max(5, 50 − 40) = 10% → 500.
 */
function feasibleNodesToFind(n: number): number {
  if (n < 100) return n;
  const percentage = Math.max(5, 50 - Math.floor(n / 125));
  return Math.max(100, Math.floor((n * percentage) / 100));
}

function allocatableOf(node: KubeObject) {
  const alloc: Record<string, string> = node.status?.allocatable ?? node.status?.capacity ?? {};
  return {
    allocCpu: safe(() => parseCpuMillis(alloc.cpu ?? '0')),
    allocMemory: safe(() => parseBytes(alloc.memory ?? '0')),
    allocPods: safe(() => Number.parseInt(alloc.pods ?? '110', 10)),
  };
}

function safe(parse: () => number): number {
  try {
    const value = parse();
    return Number.isFinite(value) ? value : 0;
  } catch {
    return 0;
  }
}

/** What about a node can change where pods fit; heartbeats change none of it. */
function schedulingFingerprint(node: KubeObject): string {
  return JSON.stringify([
    node.metadata.labels,
    node.spec?.unschedulable,
    node.spec?.taints,
    nodeReadyStatus(node),
    node.status?.allocatable ?? node.status?.capacity,
  ]);
}

function shapeKeyOf(pod: KubeObject): string {
  const spec = pod.spec ?? {};
  if (!spec.nodeSelector && !spec.affinity?.nodeAffinity && !spec.tolerations) return '';
  return JSON.stringify([
    spec.nodeSelector,
    spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
    spec.tolerations,
  ]);
}

function podKey(pod: KubeObject): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
