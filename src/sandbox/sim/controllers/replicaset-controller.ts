import { R } from '../../api/resources.ts';
import type { SandboxContext } from '../../context.ts';
import { sameJson } from '../../store/json-value.ts';
import type { KubeObject, StoreEvent } from '../../store/types.ts';
import { OwnerController } from './owner-controller.ts';
import { controllerRefOf, controllerRefTo } from './owner-refs.ts';
import { createPodFromTemplate, deleteControlledPod } from './pod-from-template.ts';
import { availableAt, isActive, isPodReady, readyCondition } from './pod-state.ts';
import { splitQueueKey } from './work-queue.ts';

/**
 * Keeps `spec.replicas` pods of each ReplicaSet alive. Terminating and finished pods do not count, so a
 * drained pod is replaced at once (what `kubectl drain` relies on to keep capacity).
 */
export class ReplicaSetController extends OwnerController {
  constructor(ctx: SandboxContext) {
    super(ctx, {
      name: 'replicaset-controller',
      owners: R.replicasets,
      ownerKind: 'ReplicaSet',
      owned: R.pods,
    });
  }

  /**
   * Note: most writes to a pod (its binding, container states, a DisruptionTarget condition) change nothing
   * a sync reads; a ReplicaSet of 60 pods would otherwise walk all of them again for each of those writes.
   */
  protected override onOwnedChange(event: StoreEvent, ownerUids: string[]): void {
    if (
      event.type === 'MODIFIED' &&
      event.previous &&
      !replicaSetRelevantChange(event.previous, event.object)
    )
      return;
    super.onOwnedChange(event, ownerUids);
  }

  protected sync(key: string): void {
    const { store } = this.ctx;
    const [namespace, name] = splitQueueKey(key);
    const rs = store.get(R.replicasets, namespace, name);
    if (!rs || rs.metadata.deletionTimestamp) return;
    const owned = this.ownedBy(rs.metadata.uid);
    const active = owned.filter(isActive);
    const desired = rs.spec?.replicas ?? 1;
    if (active.length < desired) {
      for (let i = active.length; i < desired; i++) {
        createPodFromTemplate(this.ctx, rs.spec?.template, {
          generateName: `${name}-`,
          namespace,
          ownerRef: controllerRefTo(rs, 'apps/v1', 'ReplicaSet'),
        });
      }
    } else if (active.length > desired) {
      for (const pod of podsToDelete(active, active.length - desired)) {
        deleteControlledPod(this.ctx, pod);
      }
    }
    // The pods just created or deleted are in the index already (store listeners run synchronously).
    this.writeStatus(rs, active.length === desired ? owned : this.ownedBy(rs.metadata.uid));
  }

  /**
   * Note: unlike upstream, the status counts the pods as they are after this sync's creations and deletions,
   * so a status whose observedGeneration is current never still counts pods just deleted (the Deployment
   * controller relies on that to keep maxUnavailable).
   */
  private writeStatus(rs: KubeObject, owned: KubeObject[]): void {
    const now = this.ctx.clock.now();
    const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
    const templateLabels = Object.entries<string>(rs.spec?.template?.metadata?.labels ?? {});
    let replicas = 0;
    let fullyLabeled = 0;
    let ready = 0;
    let available = 0;
    let nextAvailable = Number.POSITIVE_INFINITY;
    for (const pod of owned) {
      if (!isActive(pod)) continue;
      replicas++;
      if (hasLabels(pod.metadata.labels ?? {}, templateLabels)) fullyLabeled++;
      if (!isPodReady(pod)) continue;
      ready++;
      const at = availableAt(pod, minReadySeconds) ?? Number.POSITIVE_INFINITY;
      if (at <= now) available++;
      else nextAvailable = Math.min(nextAvailable, at);
    }
    if (Number.isFinite(nextAvailable)) {
      this.requeueAfter(rs, nextAvailable - now);
    }
    this.writeOwnStatus(rs, {
      ...rs.status,
      replicas,
      fullyLabeledReplicas: fullyLabeled,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation,
    });
  }
}

/**
 * Whether a pod change can change what a sync does or writes: whether the pod counts (terminating,
 * finished), its readiness and since when (availability), its labels (fullyLabeledReplicas), its controller.
 * Note: the ranking of pods to delete reads more (node, phase), but only a sync that finds too many active
 * pods ranks them, and that sync deletes the surplus at once.
 */
function replicaSetRelevantChange(before: KubeObject, after: KubeObject): boolean {
  const readyBefore = readyCondition(before);
  const readyAfter = readyCondition(after);
  return (
    isActive(before) !== isActive(after) ||
    readyBefore?.status !== readyAfter?.status ||
    readyBefore?.lastTransitionTime !== readyAfter?.lastTransitionTime ||
    controllerRefOf(before)?.uid !== controllerRefOf(after)?.uid ||
    !sameJson(before.metadata.labels ?? {}, after.metadata.labels ?? {})
  );
}

function hasLabels(labels: Record<string, string>, wanted: Array<[string, string]>): boolean {
  for (const [key, value] of wanted) if (labels[key] !== value) return false;
  return true;
}

/**
 * The pods to delete when scaling down, as upstream's ActivePods ranking (simplified): unscheduled before
 * scheduled, Pending before Running, not ready before ready, then the newest first.
 */
export function podsToDelete(active: KubeObject[], count: number): KubeObject[] {
  const phaseRank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
  const rank = (pod: KubeObject): [number, number, number, number] => [
    pod.spec?.nodeName ? 1 : 0,
    phaseRank[pod.status?.phase ?? 'Pending'] ?? 0,
    isPodReady(pod) ? 1 : 0,
    -Date.parse(pod.metadata.creationTimestamp ?? '1970-01-01T00:00:00Z'),
  ];
  const ranked = active.map((pod) => ({ pod, rank: rank(pod) }));
  ranked.sort((a, b) => {
    for (let i = 0; i < 4; i++) if (a.rank[i] !== b.rank[i]) return a.rank[i]! - b.rank[i]!;
    // Same second: the later name-ordered one stands in for "created later".
    return (b.pod.metadata.name ?? '') < (a.pod.metadata.name ?? '') ? -1 : 1;
  });
  return ranked.slice(0, count).map((r) => r.pod);
}
