import { R } from '../../api/resources.ts';
import type { Actor, SandboxContext } from '../../context.ts';
import { deleteObject } from '../../store/deletion.ts';
import type { KubeObject, StoreEvent } from '../../store/types.ts';
import { contained, reportSimulationError } from '../contain-errors.ts';
import { OwnedIndex } from './owned-index.ts';
import { controllerRefTo } from './owner-refs.ts';
import { createPodFromTemplate } from './pod-from-template.ts';
import { availableAt, isActive, isPodReady } from './pod-state.ts';
import { updateStatusIfChanged } from './status-writer.ts';
import { queueKey, splitQueueKey, WorkQueue } from './work-queue.ts';

/**
 * Keeps `spec.replicas` pods of each ReplicaSet alive. Terminating and finished pods do not count, so a
 * drained pod is replaced at once (what `kubectl drain` relies on to keep capacity).
 */
export class ReplicaSetController implements Actor {
  readonly name = 'replicaset-controller';
  private readonly queue: WorkQueue;
  private readonly pods = new OwnedIndex('ReplicaSet');
  private readonly uidToKey = new Map<string, string>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly ctx: SandboxContext) {
    this.queue = new WorkQueue(ctx.clock, (key) => this.sync(key), {
      onError: (_key, err) => reportSimulationError(ctx, this.name, err),
    });
  }

  start(): void {
    const { store } = this.ctx;
    this.pods.load(store.list(R.pods));
    for (const rs of store.list(R.replicasets)) this.track(rs);
    this.unsubscribe = store.onChange(contained(this.ctx, this.name, (event) => this.onChange(event)));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.queue.stop();
  }

  private track(rs: KubeObject): void {
    const key = queueKey(rs.metadata.namespace, rs.metadata.name);
    this.uidToKey.set(rs.metadata.uid ?? '', key);
    this.queue.add(key);
  }

  private onChange(event: StoreEvent): void {
    if (event.resource === R.replicasets) {
      if (event.type === 'DELETED') this.uidToKey.delete(event.object.metadata.uid ?? '');
      else this.track(event.object);
    } else if (event.resource === R.pods) {
      for (const uid of this.pods.apply(event)) {
        const key = this.uidToKey.get(uid);
        if (key) this.queue.add(key);
      }
    }
  }

  private sync(key: string): void {
    const { store, clock } = this.ctx;
    const [namespace, name] = splitQueueKey(key);
    const rs = store.get(R.replicasets, namespace, name);
    if (!rs || rs.metadata.deletionTimestamp) return;
    const owned = this.pods.owned(rs.metadata.uid);
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
        deleteObject(store, clock, R.pods, namespace, pod.metadata.name ?? '');
      }
    }
    this.writeStatus(rs, this.pods.owned(rs.metadata.uid));
  }

  /**
   * Note: unlike upstream, the status counts the pods as they are after this sync's creations and deletions,
   * so a status whose observedGeneration is current never still counts pods just deleted (the Deployment
   * controller relies on that to keep maxUnavailable).
   */
  private writeStatus(rs: KubeObject, owned: KubeObject[]): void {
    const now = this.ctx.clock.now();
    const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
    const templateLabels: Record<string, string> = rs.spec?.template?.metadata?.labels ?? {};
    let replicas = 0;
    let fullyLabeled = 0;
    let ready = 0;
    let available = 0;
    let nextAvailable = Number.POSITIVE_INFINITY;
    for (const pod of owned) {
      if (!isActive(pod)) continue;
      replicas++;
      const labels = pod.metadata.labels ?? {};
      if (Object.entries(templateLabels).every(([k, v]) => labels[k] === v)) fullyLabeled++;
      if (!isPodReady(pod)) continue;
      ready++;
      const at = availableAt(pod, minReadySeconds) ?? Number.POSITIVE_INFINITY;
      if (at <= now) available++;
      else nextAvailable = Math.min(nextAvailable, at);
    }
    if (Number.isFinite(nextAvailable)) {
      this.queue.addAfter(queueKey(rs.metadata.namespace, rs.metadata.name), nextAvailable - now);
    }
    updateStatusIfChanged(this.ctx.store, R.replicasets, rs, {
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
