import { scaledValue, type Toleration } from '../../../core/index.ts';
import { R } from '../../api/resources.ts';
import type { SandboxContext } from '../../context.ts';
import type { KubeObject, StoreEvent } from '../../store/types.ts';
import { heartbeatOnly } from '../node-status.ts';
import { DAEMONSET_TOLERATIONS, daemonPlacement } from './node-eligibility.ts';
import { OwnerController } from './owner-controller.ts';
import { controllerRefOf, controllerRefTo } from './owner-refs.ts';
import { createPodFromTemplate, deleteControlledPod } from './pod-from-template.ts';
import { availableAt, isTerminating } from './pod-state.ts';
import { updateStatusIfChanged } from './status-writer.ts';
import { templateHash } from './template-hash.ts';
import { queueKey, splitQueueKey } from './work-queue.ts';

const REVISION_LABEL = 'controller-revision-hash';
/** Clock time a change to a daemon pod or a node waits for others before its DaemonSets sync. */
const SYNC_BATCH_MS = 1_000;

type Placement = ReturnType<typeof daemonPlacement>;

/** What a DaemonSet's spec decides, kept while its generation (its spec) stays the same. */
interface DaemonSpec {
  uid: string;
  generation: number | undefined;
  revision: string;
  minReadySeconds: number;
  podSpec: KubeObject['spec'];
  tolerations: Toleration[];
  /** Per stored node object: stored objects are never changed in place, so a new write is a new key. */
  placements: WeakMap<KubeObject, Placement>;
}

/**
 * What the last syncs of one DaemonSet found, node by node, so that a sync visits only the nodes whose node
 * object or daemon pods changed since (as upstream's controller is woken per node and per pod, through its
 * informers). Rebuilt by a walk over every node when the spec changes.
 */
interface DaemonState {
  spec: DaemonSpec;
  /** Nodes to look at in the next sync; `all` until the first walk over every node. */
  dirty: Set<string> | 'all';
  /** Nodes where a daemon should run (desiredNumberScheduled). */
  shouldRun: Set<string>;
  /** Nodes that keep a daemon where none should run, one that may stay (numberMisscheduled). */
  misscheduled: Set<string>;
  /** The daemon pod kept on each node where one should run, as stored after the sync that kept it. */
  running: Map<string, KubeObject>;
  /** The status counts over `running`, kept as its entries change. */
  tally: DaemonTally;
}

/**
 * Runs one pod of each DaemonSet on every eligible node (nodeSelector, required node affinity, taints
 * against the pod's tolerations plus the standard DaemonSet ones, so cordoned and NotReady nodes keep their
 * daemons). Pods are created already bound (spec.nodeName), as the scheduler would bind them.
 *
 * Note: a sync reconciles only the nodes a change named (the node, or the node of a daemon pod) and keeps
 * the status counts node by node. Walking every node on every sync, as this controller did, cost a share of
 * the CPU that grew with the square of the cluster while its nodes were upgraded (each DaemonSet syncs about
 * once a second then).
 */
export class DaemonSetController extends OwnerController {
  private readonly states = new Map<string, DaemonState>();

  constructor(ctx: SandboxContext) {
    super(ctx, { name: 'daemonset-controller', owners: R.daemonsets, ownerKind: 'DaemonSet', owned: R.pods });
  }

  protected override onOwnerDeleted(ds: KubeObject): void {
    this.states.delete(queueKey(ds.metadata.namespace, ds.metadata.name));
  }

  protected override onOwnedChange(event: StoreEvent, dsUids: string[]): void {
    // Note: changes to the daemon pods and nodes are batched: one sync per DaemonSet per second of clock
    // time at most, however many nodes changed.
    const nodes: Array<string | undefined> = [event.object.spec?.nodeName];
    if (event.previous) nodes.push(event.previous.spec?.nodeName);
    for (const uid of dsUids) {
      const key = this.keyOfUid(uid);
      if (!key) continue;
      for (const node of nodes) this.markDirty(key, node);
      this.queue.addAfter(key, SYNC_BATCH_MS);
    }
  }

  protected override onOtherChange(event: StoreEvent): void {
    if (event.resource !== R.nodes || !placementMayDiffer(event)) return;
    // IMPORTANT: heartbeats modify every node every few seconds; only placement-relevant changes count.
    // Note: only the DaemonSets whose placement on this node changed sync: a cordon or a NotReady taint
    // (which daemons tolerate) would otherwise sync them all, per node.
    const before = event.type === 'MODIFIED' ? event.previous : undefined;
    for (const key of this.ownerKeys()) {
      const spec = before && this.specOf(key);
      if (spec && samePlacement(placementOn(spec, before), placementOn(spec, event.object))) continue;
      this.markDirty(key, event.object.metadata.name);
      this.queue.addAfter(key, SYNC_BATCH_MS);
    }
  }

  /** Has the next sync of the DaemonSet look at `node`; a pod without one has it walk every node. */
  private markDirty(key: string, node: string | undefined): void {
    const state = this.states.get(key);
    if (!state || state.dirty === 'all') return;
    if (node) state.dirty.add(node);
    else state.dirty = 'all';
  }

  /** The DaemonSet's revision and tolerations, computed once per generation. */
  private specOf(key: string, ds?: KubeObject): DaemonSpec | undefined {
    const cached = this.states.get(key)?.spec;
    if (!ds) {
      if (cached) return cached;
      const [namespace, name] = splitQueueKey(key);
      ds = this.ctx.store.get(R.daemonsets, namespace, name);
      if (!ds) return undefined;
    }
    if (cached && cached.uid === ds.metadata.uid && cached.generation === ds.metadata.generation)
      return cached;
    const template = ds.spec?.template ?? {};
    return {
      uid: ds.metadata.uid ?? '',
      generation: ds.metadata.generation,
      revision: templateHash(template),
      minReadySeconds: ds.spec?.minReadySeconds ?? 0,
      podSpec: template.spec,
      tolerations: [...(template.spec?.tolerations ?? []), ...DAEMONSET_TOLERATIONS],
      placements: new WeakMap(),
    };
  }

  /** The state of the DaemonSet's last syncs, or a new one (every node to visit) for a new spec. */
  private stateOf(key: string, ds: KubeObject): DaemonState {
    const spec = this.specOf(key, ds)!;
    const known = this.states.get(key);
    if (known && known.spec === spec) return known;
    const state: DaemonState = {
      spec,
      dirty: 'all',
      shouldRun: new Set(),
      misscheduled: new Set(),
      running: new Map(),
      tally: new DaemonTally(spec.revision, spec.minReadySeconds),
    };
    this.states.set(key, state);
    return state;
  }

  protected sync(key: string): void {
    const { store } = this.ctx;
    const [namespace, name] = splitQueueKey(key);
    const ds = store.get(R.daemonsets, namespace, name);
    if (!ds || ds.metadata.deletionTimestamp) return;
    const state = this.stateOf(key, ds);
    const { dirty } = state;
    // Note: cleared before the visits, so a change they cause (a pod created, deleted) is seen next sync.
    state.dirty = new Set();
    if (dirty === 'all') this.visitEveryNode(ds, state);
    else
      for (const nodeName of dirty) {
        const pods = store
          .podsOnNode(nodeName)
          .filter((pod) => !isTerminating(pod) && controllerRefOf(pod)?.uid === ds.metadata.uid);
        this.visitNode(ds, state, nodeName, store.get(R.nodes, undefined, nodeName), pods);
      }

    const replaced =
      (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && state.tally.outdated > 0
        ? this.rollingUpdate(ds, state)
        : NO_PODS;
    // The pods this sync's rolling update deleted no longer count as running.
    for (const pod of replaced) state.tally.set(state.running, pod.spec?.nodeName ?? '', undefined);
    this.writeStatus(ds, state);
  }

  /** Visits every node, and the daemon pods on nodes that no longer exist: the first sync of a spec. */
  private visitEveryNode(ds: KubeObject, state: DaemonState): void {
    const byNode = new Map<string, KubeObject[]>();
    for (const pod of this.ownedBy(ds.metadata.uid)) {
      if (isTerminating(pod)) continue;
      const node = pod.spec?.nodeName ?? '';
      const onNode = byNode.get(node);
      if (onNode) onNode.push(pod);
      else byNode.set(node, [pod]);
    }
    for (const node of this.ctx.store.list(R.nodes)) {
      const nodeName = node.metadata.name ?? '';
      this.visitNode(ds, state, nodeName, node, byNode.get(nodeName) ?? NO_PODS);
      byNode.delete(nodeName);
    }
    // Pods left over sit on nodes that no longer exist.
    for (const [nodeName, pods] of byNode) this.visitNode(ds, state, nodeName, undefined, pods);
  }

  /**
   * Brings one node's daemon pods (`pods`: this DaemonSet's, not terminating) in line with its placement,
   * and records what it found: whether a daemon should run there, the one kept, or one misscheduled.
   * Note: visited for every node at a spec's first sync, so the usual case (one healthy pod) allocates nothing.
   */
  private visitNode(
    ds: KubeObject,
    state: DaemonState,
    nodeName: string,
    node: KubeObject | undefined,
    podsOnNode: readonly KubeObject[],
  ): void {
    const { spec, tally, running } = state;
    const remove = (pod: KubeObject) => deleteControlledPod(this.ctx, pod);
    let pods = podsOnNode;
    if (pods.some(isFailed)) {
      for (const failed of pods.filter(isFailed)) remove(failed);
      pods = pods.filter((p) => !isFailed(p));
    }
    const placement = node ? placementOn(spec, node) : NOWHERE;
    state.shouldRun.delete(nodeName);
    state.misscheduled.delete(nodeName);
    if (placement.shouldRun) {
      state.shouldRun.add(nodeName);
      if (pods.length > 1) {
        // Keep the oldest pod; extra ones go.
        pods = [...pods].sort((a, b) =>
          (a.metadata.creationTimestamp ?? '') < (b.metadata.creationTimestamp ?? '') ? -1 : 1,
        );
        for (const extra of pods.slice(1)) remove(extra);
      }
      let pod = pods[0];
      if (!pod) {
        const created = this.createPod(ds, nodeName, spec.revision, spec.tolerations);
        // As stored now: the store's listeners may have written it since.
        pod = this.ctx.store.get(R.pods, created.metadata.namespace, created.metadata.name ?? '');
      }
      tally.set(running, nodeName, pod && !isTerminating(pod) ? pod : undefined);
      return;
    }
    tally.set(running, nodeName, undefined);
    if (!placement.shouldContinueRunning) for (const pod of pods) remove(pod);
    else if (pods.length > 0) state.misscheduled.add(nodeName);
  }

  /**
   * Replaces old-revision pods while at most maxUnavailable (default 1) daemon pods are unavailable; returns
   * the pods it deleted.
   */
  private rollingUpdate(ds: KubeObject, state: DaemonState): readonly KubeObject[] {
    const { revision, minReadySeconds } = state.spec;
    const scheduled = [...state.running.values()];
    const old = scheduled.filter((pod) => pod.metadata.labels?.[REVISION_LABEL] !== revision);
    if (old.length === 0) return NO_PODS;
    const now = this.ctx.clock.now();
    const desired = state.shouldRun.size;
    const maxUnavailable = scaledValue(
      ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1,
      desired,
      true,
    );
    const isAvailable = (pod: KubeObject) =>
      (availableAt(pod, minReadySeconds) ?? Number.POSITIVE_INFINITY) <= now;
    // Note: a node where a daemon should run and none is kept (its pod just went) counts as unavailable.
    let unavailable = desired - scheduled.length + scheduled.filter((pod) => !isAvailable(pod)).length;
    // Unavailable old pods cost nothing to replace; available ones use up the budget.
    old.sort((a, b) => Number(isAvailable(a)) - Number(isAvailable(b)));
    const deleted: KubeObject[] = [];
    for (const pod of old) {
      if (isAvailable(pod)) {
        if (unavailable >= maxUnavailable) break;
        unavailable++;
      }
      deleteControlledPod(this.ctx, pod);
      deleted.push(pod);
    }
    return deleted;
  }

  private createPod(
    ds: KubeObject,
    nodeName: string,
    revision: string,
    tolerations: Toleration[],
  ): KubeObject {
    return createPodFromTemplate(this.ctx, ds.spec?.template, {
      generateName: `${ds.metadata.name}-`,
      namespace: ds.metadata.namespace ?? '',
      ownerRef: controllerRefTo(ds, 'apps/v1', 'DaemonSet'),
      labels: { [REVISION_LABEL]: revision, 'pod-template-generation': String(ds.metadata.generation ?? 1) },
      spec: { nodeName, tolerations },
    });
  }

  /**
   * Writes the status from what the syncs found: the nodes where a daemon should run (`desired`), the nodes
   * keeping one where none should (`misscheduled`), and the one pod running on each node where it should.
   */
  private writeStatus(ds: KubeObject, state: DaemonState): void {
    const now = this.ctx.clock.now();
    const desired = state.shouldRun.size;
    const { ready, available, updated, nextAvailable } = state.tally.counts(now);
    if (nextAvailable !== undefined) this.requeueAfter(ds, nextAvailable - now);
    updateStatusIfChanged(this.ctx.store, R.daemonsets, ds, {
      currentNumberScheduled: state.running.size,
      numberMisscheduled: state.misscheduled.size,
      desiredNumberScheduled: desired,
      numberReady: ready,
      observedGeneration: ds.metadata.generation,
      updatedNumberScheduled: updated,
      numberAvailable: available,
      ...(desired - available > 0 ? { numberUnavailable: desired - available } : {}),
    });
  }
}

/**
 * The status counts over a DaemonSet's running pods, updated as each node's pod changes instead of counted
 * over every node per sync: Ready pods, pods at the current revision, and available ones (Ready for
 * minReadySeconds), with the pods that will become available later kept apart until their time comes.
 */
class DaemonTally {
  ready = 0;
  updated = 0;
  /** Running pods not at the current revision: what a rolling update has left to replace. */
  outdated = 0;
  private available = 0;
  /** Nodes whose pod is Ready but not yet available, and when it will be (clock ms). */
  private readonly availableLater = new Map<string, number>();

  constructor(
    private readonly revision: string,
    private readonly minReadySeconds: number,
  ) {}

  /** Sets (or with undefined, clears) the pod running on `node` in `running`, and counts it instead of the last. */
  set(running: Map<string, KubeObject>, node: string, pod: KubeObject | undefined): void {
    const before = running.get(node);
    if (before === pod) return;
    if (before) this.count(node, before, -1);
    if (pod) {
      running.set(node, pod);
      this.count(node, pod, 1);
    } else running.delete(node);
  }

  /** The counts at `now`, and when the next pod becomes available (undefined: none waits). */
  counts(now: number): { ready: number; available: number; updated: number; nextAvailable?: number } {
    let nextAvailable = Number.POSITIVE_INFINITY;
    for (const [node, at] of this.availableLater) {
      if (at <= now) {
        this.availableLater.delete(node);
        this.available++;
      } else nextAvailable = Math.min(nextAvailable, at);
    }
    return {
      ready: this.ready,
      available: this.available,
      updated: this.updated,
      ...(Number.isFinite(nextAvailable) ? { nextAvailable } : {}),
    };
  }

  private count(node: string, pod: KubeObject, sign: 1 | -1): void {
    if (pod.metadata.labels?.[REVISION_LABEL] === this.revision) this.updated += sign;
    else this.outdated += sign;
    // Note: undefined when the pod is not Ready.
    const at = availableAt(pod, this.minReadySeconds);
    if (at === undefined) return;
    this.ready += sign;
    if (sign < 0) {
      if (!this.availableLater.delete(node)) this.available--;
    } else if (at === Number.NEGATIVE_INFINITY) this.available++;
    else this.availableLater.set(node, at);
  }
}

/** A node that no longer exists: its daemons go. */
const NOWHERE: Placement = { shouldRun: false, shouldContinueRunning: false };

const NO_PODS: readonly KubeObject[] = [];

function isFailed(pod: KubeObject): boolean {
  return pod.status?.phase === 'Failed';
}

function placementOn(spec: DaemonSpec, node: KubeObject): Placement {
  let placement = spec.placements.get(node);
  if (!placement) {
    placement = daemonPlacement(node, spec.podSpec, spec.tolerations);
    spec.placements.set(node, placement);
  }
  return placement;
}

function samePlacement(a: Placement, b: Placement): boolean {
  return a.shouldRun === b.shouldRun && a.shouldContinueRunning === b.shouldContinueRunning;
}

/** Whether a node change can change where daemons run: labels, taints, or the node coming or going. */
function placementMayDiffer(event: StoreEvent): boolean {
  if (event.type !== 'MODIFIED' || !event.previous) return true;
  const before = event.previous;
  const after = event.object;
  if (heartbeatOnly(before, after)) return false;
  return (
    JSON.stringify(before.metadata.labels ?? {}) !== JSON.stringify(after.metadata.labels ?? {}) ||
    JSON.stringify(before.spec?.taints ?? []) !== JSON.stringify(after.spec?.taints ?? []) ||
    Boolean(before.metadata.deletionTimestamp) !== Boolean(after.metadata.deletionTimestamp)
  );
}
