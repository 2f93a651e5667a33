import { scaledValue, type Toleration } from '../../../core/index.ts';
import { R } from '../../api/resources.ts';
import type { SandboxContext } from '../../context.ts';
import type { KubeObject, StoreEvent } from '../../store/types.ts';
import { DAEMONSET_TOLERATIONS, daemonPlacement } from './node-eligibility.ts';
import { OwnerController } from './owner-controller.ts';
import { controllerRefTo } from './owner-refs.ts';
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
  podSpec: KubeObject['spec'];
  tolerations: Toleration[];
  /** Per stored node object: stored objects are never changed in place, so a new write is a new key. */
  placements: WeakMap<KubeObject, Placement>;
}

/**
 * Runs one pod of each DaemonSet on every eligible node (nodeSelector, required node affinity, taints
 * against the pod's tolerations plus the standard DaemonSet ones, so cordoned and NotReady nodes keep their
 * daemons). Pods are created already bound (spec.nodeName), as the scheduler would bind them.
 */
export class DaemonSetController extends OwnerController {
  private readonly specs = new Map<string, DaemonSpec>();

  constructor(ctx: SandboxContext) {
    super(ctx, { name: 'daemonset-controller', owners: R.daemonsets, ownerKind: 'DaemonSet', owned: R.pods });
  }

  protected override onOwnerDeleted(ds: KubeObject): void {
    this.specs.delete(queueKey(ds.metadata.namespace, ds.metadata.name));
  }

  protected override onOwnedChange(_event: StoreEvent, dsUids: string[]): void {
    // Note: a sync walks every node, so changes to the daemon pods and nodes are batched: one sync per
    // DaemonSet per second of clock time at most, however many nodes changed. Syncing on each change cost a
    // third of the sandbox's CPU while 2,000 nodes were upgraded, growing with the square of the nodes.
    for (const uid of dsUids) this.enqueueUid(uid, SYNC_BATCH_MS);
  }

  protected override onOtherChange(event: StoreEvent): void {
    if (event.resource !== R.nodes || !placementMayDiffer(event)) return;
    // IMPORTANT: heartbeats modify every node every few seconds; only placement-relevant changes count.
    // Note: and since a sync walks every node, only the DaemonSets whose placement on this node changed
    // sync: a cordon or a NotReady taint (which daemons tolerate) would otherwise sync them all, per node.
    const before = event.type === 'MODIFIED' ? event.previous : undefined;
    for (const key of this.ownerKeys()) {
      const spec = before && this.specOf(key);
      if (spec && samePlacement(placementOn(spec, before), placementOn(spec, event.object))) continue;
      this.queue.addAfter(key, SYNC_BATCH_MS);
    }
  }

  /** The DaemonSet's revision and tolerations, computed once per generation. */
  private specOf(key: string, ds?: KubeObject): DaemonSpec | undefined {
    if (!ds) {
      const [namespace, name] = splitQueueKey(key);
      ds = this.ctx.store.get(R.daemonsets, namespace, name);
      if (!ds) return undefined;
    }
    const cached = this.specs.get(key);
    if (cached && cached.uid === ds.metadata.uid && cached.generation === ds.metadata.generation)
      return cached;
    const template = ds.spec?.template ?? {};
    const spec: DaemonSpec = {
      uid: ds.metadata.uid ?? '',
      generation: ds.metadata.generation,
      revision: templateHash(template),
      podSpec: template.spec,
      tolerations: [...(template.spec?.tolerations ?? []), ...DAEMONSET_TOLERATIONS],
      placements: new WeakMap(),
    };
    this.specs.set(key, spec);
    return spec;
  }

  protected sync(key: string): void {
    const { store } = this.ctx;
    const [namespace, name] = splitQueueKey(key);
    const ds = store.get(R.daemonsets, namespace, name);
    if (!ds || ds.metadata.deletionTimestamp) return;
    const spec = this.specOf(key, ds)!;
    const { revision, tolerations } = spec;
    const byNode = new Map<string, KubeObject[]>();
    for (const pod of this.ownedBy(ds.metadata.uid)) {
      if (isTerminating(pod)) continue;
      const node = pod.spec?.nodeName ?? '';
      const onNode = byNode.get(node);
      if (onNode) onNode.push(pod);
      else byNode.set(node, [pod]);
    }
    const remove = (pod: KubeObject) => deleteControlledPod(this.ctx, pod);

    // The daemon pod kept on each node where one should run (a rolling update may replace it).
    // Note: this walk runs for every node on every sync, so the usual case (one healthy pod) allocates nothing.
    // It also counts what the status needs of the nodes (desired, misscheduled): a second walk over every
    // node for the status made the DaemonSets' syncs grow faster than the cluster (they sync about once a
    // second of clock time each while nodes are upgraded).
    const scheduled: KubeObject[] = [];
    const created = new Set<KubeObject>();
    let misscheduled = 0;
    for (const node of store.list(R.nodes)) {
      const nodeName = node.metadata.name ?? '';
      const placement = placementOn(spec, node);
      let pods = byNode.get(nodeName) ?? NO_PODS;
      byNode.delete(nodeName);
      if (pods.some(isFailed)) {
        for (const failed of pods.filter(isFailed)) remove(failed);
        pods = pods.filter((p) => !isFailed(p));
      }
      if (placement.shouldRun) {
        if (pods.length > 1) {
          // Keep the oldest pod; extra ones go.
          pods = [...pods].sort((a, b) =>
            (a.metadata.creationTimestamp ?? '') < (b.metadata.creationTimestamp ?? '') ? -1 : 1,
          );
          for (const extra of pods.slice(1)) remove(extra);
        }
        let pod = pods[0];
        if (!pod) {
          pod = this.createPod(ds, nodeName, revision, tolerations);
          created.add(pod);
        }
        scheduled.push(pod);
      } else if (!placement.shouldContinueRunning) {
        for (const pod of pods) remove(pod);
      } else if (pods.length > 0) {
        misscheduled++;
      }
    }
    // Pods left over sit on nodes that no longer exist.
    for (const pods of byNode.values()) for (const pod of pods) remove(pod);

    const replaced =
      (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate'
        ? this.rollingUpdate(ds, scheduled, revision)
        : NO_PODS;
    // The pods running where they should once this sync's deletions are in; the ones it created as stored
    // now (the store's listeners may have written them since).
    const gone = new Set(replaced);
    const running: KubeObject[] = [];
    for (const pod of scheduled) {
      if (gone.has(pod)) continue;
      const latest = created.has(pod)
        ? store.get(R.pods, pod.metadata.namespace, pod.metadata.name ?? '')
        : pod;
      if (latest && !isTerminating(latest)) running.push(latest);
    }
    this.writeStatus(ds, { desired: scheduled.length, misscheduled, running, revision });
  }

  /**
   * Replaces old-revision pods while at most maxUnavailable (default 1) daemon pods are unavailable; returns
   * the pods it deleted.
   */
  private rollingUpdate(ds: KubeObject, scheduled: KubeObject[], revision: string): readonly KubeObject[] {
    const old = scheduled.filter((pod) => pod.metadata.labels?.[REVISION_LABEL] !== revision);
    if (old.length === 0) return NO_PODS;
    const now = this.ctx.clock.now();
    const minReadySeconds = ds.spec?.minReadySeconds ?? 0;
    const desired = scheduled.length;
    const maxUnavailable = scaledValue(
      ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1,
      desired,
      true,
    );
    const isAvailable = (pod: KubeObject) =>
      (availableAt(pod, minReadySeconds) ?? Number.POSITIVE_INFINITY) <= now;
    let unavailable = scheduled.filter((pod) => !isAvailable(pod)).length;
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
   * Writes the status from what the sync found: the nodes where a daemon should run (`desired`), the nodes
   * keeping one where none should (`misscheduled`), and the one pod running on each node where it should.
   */
  private writeStatus(
    ds: KubeObject,
    found: { desired: number; misscheduled: number; running: readonly KubeObject[]; revision: string },
  ): void {
    const now = this.ctx.clock.now();
    const minReadySeconds = ds.spec?.minReadySeconds ?? 0;
    const { desired, misscheduled, running, revision } = found;
    const current = running.length;
    let ready = 0;
    let available = 0;
    let updated = 0;
    let nextAvailable = Number.POSITIVE_INFINITY;
    for (const pod of running) {
      if (pod.metadata.labels?.[REVISION_LABEL] === revision) updated++;
      // Note: undefined when the pod is not Ready.
      const at = availableAt(pod, minReadySeconds);
      if (at === undefined) continue;
      ready++;
      if (at <= now) available++;
      else nextAvailable = Math.min(nextAvailable, at);
    }
    if (Number.isFinite(nextAvailable)) {
      this.requeueAfter(ds, nextAvailable - now);
    }
    updateStatusIfChanged(this.ctx.store, R.daemonsets, ds, {
      currentNumberScheduled: current,
      numberMisscheduled: misscheduled,
      desiredNumberScheduled: desired,
      numberReady: ready,
      observedGeneration: ds.metadata.generation,
      updatedNumberScheduled: updated,
      numberAvailable: available,
      ...(desired - available > 0 ? { numberUnavailable: desired - available } : {}),
    });
  }
}

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
  return (
    JSON.stringify(before.metadata.labels ?? {}) !== JSON.stringify(after.metadata.labels ?? {}) ||
    JSON.stringify(before.spec?.taints ?? []) !== JSON.stringify(after.spec?.taints ?? []) ||
    Boolean(before.metadata.deletionTimestamp) !== Boolean(after.metadata.deletionTimestamp)
  );
}
