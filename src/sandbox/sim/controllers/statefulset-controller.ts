import { R } from '../../api/resources.ts';
import type { SandboxContext } from '../../context.ts';
import type { KubeObject } from '../../store/types.ts';
import { OwnerController } from './owner-controller.ts';
import { controllerRefTo } from './owner-refs.ts';
import { createPodFromTemplate, deleteControlledPod } from './pod-from-template.ts';
import { availableAt, isRunningAndReady, isTerminal, isTerminating } from './pod-state.ts';
import { updateStatusIfChanged } from './status-writer.ts';
import { storedTemplateHash, storedTemplateIdentity } from './template-hash.ts';
import { splitQueueKey } from './work-queue.ts';

const REVISION_LABEL = 'controller-revision-hash';

/**
 * Runs StatefulSets as pods `<name>-0 … <name>-(N-1)`. OrderedReady creates ordinal i only once 0…i-1 are
 * Running and Ready and removes from the highest ordinal, one at a time; Parallel does both at once. A
 * deleted pod comes back under the same name once the old one is gone. Template changes roll out from the
 * highest ordinal down to the partition, one pod at a time.
 * Note: no ControllerRevision objects are kept, so a pod below the partition that is recreated gets the
 * new template (upstream would restore the current revision's).
 */
export class StatefulSetController extends OwnerController {
  /**
   * Per StatefulSet uid, the revision name of each template it has run (template identity → name): what
   * upstream keeps in ControllerRevisions, so a template rolled back to gets its old revision again.
   */
  private readonly revisions = new Map<string, Map<string, string>>();

  constructor(ctx: SandboxContext) {
    super(ctx, {
      name: 'statefulset-controller',
      owners: R.statefulsets,
      ownerKind: 'StatefulSet',
      owned: R.pods,
    });
  }

  protected override onOwnerDeleted(sts: KubeObject): void {
    this.revisions.delete(sts.metadata.uid ?? '');
  }

  /**
   * The revision name of the current template. The first time a StatefulSet is seen, the revision its
   * status names is adopted when that status describes the current spec (observedGeneration): its pods were
   * made from this template whoever named the revision, and renaming it would roll every pod.
   */
  private updateRevisionOf(sts: KubeObject): string {
    const uid = sts.metadata.uid ?? '';
    const identity = storedTemplateIdentity(sts);
    let known = this.revisions.get(uid);
    if (!known) {
      known = new Map();
      this.revisions.set(uid, known);
      const recorded: unknown = sts.status?.updateRevision;
      if (
        typeof recorded === 'string' &&
        recorded &&
        sts.status?.observedGeneration === sts.metadata.generation
      )
        known.set(identity, recorded);
    }
    let revision = known.get(identity);
    if (!revision) {
      revision = `${sts.metadata.name}-${storedTemplateHash(sts)}`;
      known.set(identity, revision);
    }
    return revision;
  }

  protected sync(key: string): void {
    const [namespace, name] = splitQueueKey(key);
    const sts = this.ctx.store.get(R.statefulsets, namespace, name);
    if (!sts || sts.metadata.deletionTimestamp) return;
    const updateRevision = this.updateRevisionOf(sts);
    const byOrdinal = this.podsByOrdinal(sts);
    const settled = this.ensureReplicas(sts, byOrdinal, updateRevision);
    if (settled) this.removeCondemned(sts, byOrdinal);
    if (settled && sts.spec?.updateStrategy?.type !== 'OnDelete')
      this.rollOne(sts, byOrdinal, updateRevision);
    this.writeStatus(sts, updateRevision);
  }

  private podsByOrdinal(sts: KubeObject): Map<number, KubeObject> {
    const prefix = `${sts.metadata.name}-`;
    const byOrdinal = new Map<number, KubeObject>();
    for (const pod of this.ownedBy(sts.metadata.uid)) {
      const suffix = (pod.metadata.name ?? '').slice(prefix.length);
      if ((pod.metadata.name ?? '').startsWith(prefix) && /^\d+$/.test(suffix))
        byOrdinal.set(Number(suffix), pod);
    }
    return byOrdinal;
  }

  /**
   * Creates missing pods and replaces finished ones within 0…replicas-1. Returns whether every one of them is
   * Running and Ready, which OrderedReady requires before it scales down or updates.
   */
  private ensureReplicas(sts: KubeObject, byOrdinal: Map<number, KubeObject>, revision: string): boolean {
    const parallel = sts.spec?.podManagementPolicy === 'Parallel';
    const replicas = sts.spec?.replicas ?? 1;
    let allReady = true;
    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      const pod = byOrdinal.get(ordinal);
      if (!pod) {
        this.createPod(sts, ordinal, revision);
      } else if (isTerminal(pod) && !isTerminating(pod)) {
        deleteControlledPod(this.ctx, pod);
      } else if (isRunningAndReady(pod) && !isTerminating(pod)) {
        continue;
      }
      allReady = false;
      if (!parallel) return false;
    }
    return allReady || parallel;
  }

  /** Pods at ordinals ≥ replicas, highest first; OrderedReady waits for each to be gone before the next. */
  private removeCondemned(sts: KubeObject, byOrdinal: Map<number, KubeObject>): void {
    const parallel = sts.spec?.podManagementPolicy === 'Parallel';
    const replicas = sts.spec?.replicas ?? 1;
    const condemned = [...byOrdinal.keys()].filter((o) => o >= replicas).sort((a, b) => b - a);
    for (const ordinal of condemned) {
      const pod = byOrdinal.get(ordinal)!;
      if (!isTerminating(pod)) {
        deleteControlledPod(this.ctx, pod);
      }
      if (!parallel) return;
    }
  }

  /** Replaces the highest-ordinal pod (at or above the partition) still on an old revision. */
  private rollOne(sts: KubeObject, byOrdinal: Map<number, KubeObject>, revision: string): void {
    const replicas = sts.spec?.replicas ?? 1;
    const partition = sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      const pod = byOrdinal.get(ordinal);
      if (!pod || isTerminating(pod) || !isRunningAndReady(pod)) return;
    }
    for (let ordinal = replicas - 1; ordinal >= partition; ordinal--) {
      const pod = byOrdinal.get(ordinal)!;
      if (pod.metadata.labels?.[REVISION_LABEL] === revision) continue;
      deleteControlledPod(this.ctx, pod);
      return;
    }
  }

  private createPod(sts: KubeObject, ordinal: number, revision: string): void {
    const name = `${sts.metadata.name}-${ordinal}`;
    createPodFromTemplate(this.ctx, sts.spec?.template, {
      name,
      namespace: sts.metadata.namespace ?? '',
      ownerRef: controllerRefTo(sts, 'apps/v1', 'StatefulSet'),
      labels: {
        [REVISION_LABEL]: revision,
        'statefulset.kubernetes.io/pod-name': name,
        'apps.kubernetes.io/pod-index': String(ordinal),
      },
      spec: { hostname: name, ...(sts.spec?.serviceName ? { subdomain: sts.spec.serviceName } : {}) },
    });
  }

  private writeStatus(sts: KubeObject, updateRevision: string): void {
    const now = this.ctx.clock.now();
    const minReadySeconds = sts.spec?.minReadySeconds ?? 0;
    const owned = this.ownedBy(sts.metadata.uid);
    const replicas = sts.spec?.replicas ?? 1;
    const live = owned.filter((p) => !isTerminating(p));
    const updated = live.filter((p) => p.metadata.labels?.[REVISION_LABEL] === updateRevision).length;
    // The current revision catches up once every pod runs the update revision.
    const currentRevision =
      updated === replicas && live.length === replicas
        ? updateRevision
        : (sts.status?.currentRevision ?? updateRevision);
    let ready = 0;
    let available = 0;
    let nextAvailable = Number.POSITIVE_INFINITY;
    for (const pod of owned) {
      if (!isRunningAndReady(pod)) continue;
      ready++;
      const at = availableAt(pod, minReadySeconds) ?? Number.POSITIVE_INFINITY;
      if (at <= now) available++;
      else nextAvailable = Math.min(nextAvailable, at);
    }
    if (Number.isFinite(nextAvailable)) {
      this.requeueAfter(sts, nextAvailable - now);
    }
    updateStatusIfChanged(this.ctx.store, R.statefulsets, sts, {
      observedGeneration: sts.metadata.generation,
      replicas: owned.filter((p) => p.status?.phase).length,
      readyReplicas: ready,
      currentReplicas: live.filter((p) => p.metadata.labels?.[REVISION_LABEL] === currentRevision).length,
      updatedReplicas: updated,
      availableReplicas: available,
      currentRevision,
      updateRevision,
      collisionCount: 0,
    });
  }
}
