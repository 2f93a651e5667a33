import { matchesLabelSelector, scaledValue } from '../../../core/index.ts';
import { applyCreateDefaults } from '../../api/defaults.ts';
import { R } from '../../api/resources.ts';
import type { SandboxContext } from '../../context.ts';
import { deleteObject, rfc3339 } from '../../store/deletion.ts';
import type { KubeObject, StoreEvent } from '../../store/types.ts';
import { OwnedIndex } from './owned-index.ts';
import { OwnerController } from './owner-controller.ts';
import { controllerRefOf, controllerRefTo } from './owner-refs.ts';
import { isTerminal } from './pod-state.ts';
import { updateStatusIfChanged } from './status-writer.ts';
import { storedTemplateHash, storedTemplateIdentity } from './template-hash.ts';
import { queueKey, splitQueueKey } from './work-queue.ts';

const HASH_LABEL = 'pod-template-hash';
const REVISION = 'deployment.kubernetes.io/revision';
const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
const SOURCE = 'deployment-controller';

/**
 * Rolls Deployments out through ReplicaSets, one per pod-template hash, as k/k pkg/controller/deployment
 * does: RollingUpdate within maxSurge/maxUnavailable, or Recreate.
 */
export class DeploymentController extends OwnerController {
  /** Pods by ReplicaSet uid: Recreate waits for the old pods to be gone. */
  private readonly pods = new OwnedIndex('ReplicaSet');
  /** ReplicaSets without a controller, by "namespace/name": a Deployment whose selector matches adopts them. */
  private readonly orphans = new Map<string, KubeObject>();

  constructor(ctx: SandboxContext) {
    super(ctx, {
      name: 'deployment-controller',
      owners: R.deployments,
      ownerKind: 'Deployment',
      owned: R.replicasets,
    });
  }

  protected override loadIndexes(): void {
    const { store } = this.ctx;
    for (const rs of store.list(R.replicasets)) this.noteOrphan(rs, false);
    this.pods.load(store.list(R.pods));
  }

  protected override onOwnedChange(event: StoreEvent, deploymentUids: string[]): void {
    super.onOwnedChange(event, deploymentUids);
    this.noteOrphan(event.object, event.type === 'DELETED');
  }

  protected override onOtherChange(event: StoreEvent): void {
    const { resource, object } = event;
    if (resource !== R.pods) return;
    this.pods.apply(event);
    // Only Recreate cares about pods, and only about their end.
    if (event.type !== 'DELETED' && !(isTerminal(object) && !isTerminal(event.previous ?? object))) return;
    const rsRef = controllerRefOf(object);
    if (rsRef?.kind !== 'ReplicaSet') return;
    const rs = this.ctx.store.get(R.replicasets, object.metadata.namespace, rsRef.name);
    const dRef = controllerRefOf(rs);
    if (dRef?.kind === 'Deployment') this.enqueueUid(dRef.uid);
  }

  private noteOrphan(rs: KubeObject, deleted: boolean): void {
    const key = queueKey(rs.metadata.namespace, rs.metadata.name);
    if (deleted || controllerRefOf(rs) || rs.metadata.deletionTimestamp) {
      this.orphans.delete(key);
      return;
    }
    this.orphans.set(key, rs);
    // Note: every Deployment of the namespace may claim it; only those whose selector matches will.
    for (const dKey of this.ownerKeys())
      if (splitQueueKey(dKey)[0] === (rs.metadata.namespace ?? '')) this.queue.add(dKey);
  }

  /**
   * Adopts orphaned ReplicaSets that the Deployment's selector matches, as upstream's ClaimReplicaSets does;
   * whether one then counts as the new ReplicaSet is up to its template (see split).
   */
  private adoptOrphans(d: KubeObject): void {
    for (const rs of [...this.orphans.values()]) {
      if (rs.metadata.namespace !== d.metadata.namespace) continue;
      let matches = false;
      try {
        matches = matchesLabelSelector(d.spec?.selector, rs.metadata.labels);
      } catch {
        // An invalid selector adopts nothing.
      }
      if (!matches || !d.spec?.selector || Object.keys(d.spec.selector).length === 0) continue;
      this.ctx.store.mutate(R.replicasets, rs.metadata.namespace, rs.metadata.name ?? '', (draft) => {
        if (controllerRefOf(draft) || draft.metadata.deletionTimestamp) return false;
        draft.metadata.ownerReferences = [
          ...(draft.metadata.ownerReferences ?? []),
          controllerRefTo(d, 'apps/v1', 'Deployment'),
        ];
      });
    }
  }

  protected sync(key: string): void {
    const [namespace, name] = splitQueueKey(key);
    const d = this.ctx.store.get(R.deployments, namespace, name);
    if (!d || d.metadata.deletionTimestamp) return;
    if (this.orphans.size > 0) this.adoptOrphans(d);
    // Note: wait until every ReplicaSet's status reflects its spec; availability counts from a lagging
    // status would let a rollout take down more pods than maxUnavailable allows.
    if (
      this.ownedReplicaSets(d).some(
        (rs) => (rs.status?.observedGeneration ?? 0) < (rs.metadata.generation ?? 1),
      )
    ) {
      return;
    }
    if (!d.spec?.paused) {
      if (d.spec?.strategy?.type === 'Recreate') this.rolloutRecreate(d);
      else this.rolloutRolling(d);
      this.cleanupOldReplicaSets(d);
    }
    this.writeStatus(d);
  }

  private ownedReplicaSets(d: KubeObject): KubeObject[] {
    return this.ownedBy(d.metadata.uid).filter((rs) => !rs.metadata.deletionTimestamp);
  }

  /**
   * The ReplicaSets split into the one running the current template and the others, oldest first. As
   * upstream's FindNewReplicaSet, the new one is the oldest whose template equals the Deployment's apart
   * from the hash label, so an adopted or pre-existing ReplicaSet is reused instead of replaced.
   */
  private split(d: KubeObject): { newRS?: KubeObject; oldRSs: KubeObject[]; hash: string } {
    const hash = storedTemplateHash(d);
    const identity = storedTemplateIdentity(d);
    const all = this.ownedReplicaSets(d).sort(byCreation);
    const newRS =
      all.find((rs) => storedTemplateIdentity(rs) === identity) ??
      all.find((rs) => rs.metadata.labels?.[HASH_LABEL] === hash);
    const oldRSs = all.filter((rs) => rs !== newRS);
    return { newRS, oldRSs, hash };
  }

  private rolloutRolling(d: KubeObject): void {
    const replicas = d.spec?.replicas ?? 1;
    let { newRS, oldRSs, hash } = this.split(d);
    if (!newRS) {
      newRS = this.createReplicaSet(d, hash, newReplicaSetReplicas(d, [...oldRSs], 0), oldRSs);
    } else if ((newRS.spec?.replicas ?? 0) > replicas) {
      newRS = this.scale(d, newRS, replicas);
    } else if ((newRS.spec?.replicas ?? 0) < replicas) {
      newRS = this.scale(d, newRS, newReplicaSetReplicas(d, [...oldRSs, newRS], newRS.spec?.replicas ?? 0));
    }
    this.reconcileOldReplicaSets(d, newRS, oldRSs);
  }

  /**
   * Scales old ReplicaSets down as far as availability allows.
   * Note (worked example): 10 replicas, maxUnavailable 2, maxSurge 3: with 10 old and 3 new pods (new not yet
   * available), allPods 13, minAvailable 8, newUnavailable 3 → at most 13 - 8 - 3 = 2 old pods may go now.
   */
  private reconcileOldReplicaSets(d: KubeObject, newRS: KubeObject, oldRSs: KubeObject[]): void {
    const replicasOf = (rs: KubeObject): number => rs.spec?.replicas ?? 0;
    const oldPods = oldRSs.reduce((n, rs) => n + replicasOf(rs), 0);
    if (oldPods === 0) return;
    const allPods = oldPods + replicasOf(newRS);
    const minAvailable = (d.spec?.replicas ?? 1) - maxUnavailableOf(d);
    const newUnavailable = replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return;

    // First the old pods that are not available anyway: removing them costs no availability.
    let cleaned = 0;
    const current = oldRSs.map((rs) => {
      if (cleaned >= maxScaledDown || replicasOf(rs) === 0) return rs;
      const unhealthy = replicasOf(rs) - (rs.status?.availableReplicas ?? 0);
      if (unhealthy <= 0) return rs;
      const down = Math.min(maxScaledDown - cleaned, unhealthy);
      cleaned += down;
      return this.scale(d, rs, replicasOf(rs) - down);
    });

    // Then available old pods, down to minAvailable across all ReplicaSets.
    const available = [...current, newRS].reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
    if (available <= minAvailable) return;
    const total = available - minAvailable;
    let scaled = 0;
    for (const rs of current) {
      if (scaled >= total) break;
      if (replicasOf(rs) === 0) continue;
      const down = Math.min(replicasOf(rs), total - scaled);
      scaled += down;
      this.scale(d, rs, replicasOf(rs) - down);
    }
  }

  private rolloutRecreate(d: KubeObject): void {
    const { newRS, oldRSs, hash } = this.split(d);
    const active = oldRSs.filter((rs) => (rs.spec?.replicas ?? 0) > 0);
    if (active.length > 0) {
      for (const rs of active) this.scale(d, rs, 0);
      return;
    }
    const oldPodsRunning = oldRSs.some((rs) =>
      this.pods.owned(rs.metadata.uid).some((pod) => !isTerminal(pod)),
    );
    if (oldPodsRunning) return;
    const replicas = d.spec?.replicas ?? 1;
    if (!newRS) this.createReplicaSet(d, hash, replicas, oldRSs);
    else this.scale(d, newRS, replicas);
  }

  private createReplicaSet(d: KubeObject, hash: string, replicas: number, oldRSs: KubeObject[]): KubeObject {
    const namespace = d.metadata.namespace ?? '';
    const name = `${d.metadata.name}-${hash}`;
    const existing = this.ctx.store.get(R.replicasets, namespace, name);
    if (existing) return existing;
    const template = structuredClone(d.spec?.template ?? {});
    template.metadata = {
      ...template.metadata,
      labels: { ...template.metadata?.labels, [HASH_LABEL]: hash },
    };
    const selector = structuredClone(d.spec?.selector ?? {});
    selector.matchLabels = { ...selector.matchLabels, [HASH_LABEL]: hash };
    const revision = String(maxRevision(oldRSs) + 1);
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace,
        labels: { ...template.metadata.labels },
        annotations: {
          [DESIRED_REPLICAS]: String(d.spec?.replicas ?? 1),
          [MAX_REPLICAS]: String((d.spec?.replicas ?? 1) + maxSurgeOf(d)),
          [REVISION]: revision,
        },
        ownerReferences: [controllerRefTo(d, 'apps/v1', 'Deployment')],
      },
      spec: { replicas, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    };
    applyCreateDefaults(R.replicasets, rs, () => this.ctx.random());
    const created = this.ctx.store.create(R.replicasets, rs);
    this.ctx.store.mutate(R.deployments, namespace, d.metadata.name ?? '', (draft) => {
      if (draft.metadata.annotations?.[REVISION] === revision) return false;
      draft.metadata.annotations = { ...draft.metadata.annotations, [REVISION]: revision };
    });
    if (replicas > 0) this.scaledEvent(d, 'up', name, 0, replicas);
    return created;
  }

  private scale(d: KubeObject, rs: KubeObject, replicas: number): KubeObject {
    const from = rs.spec?.replicas ?? 0;
    const desired = String(d.spec?.replicas ?? 1);
    if (from === replicas && rs.metadata.annotations?.[DESIRED_REPLICAS] === desired) return rs;
    const updated = this.ctx.store.mutate(
      R.replicasets,
      rs.metadata.namespace,
      rs.metadata.name ?? '',
      (draft) => {
        draft.spec.replicas = replicas;
        draft.metadata.annotations = {
          ...draft.metadata.annotations,
          [DESIRED_REPLICAS]: desired,
          [MAX_REPLICAS]: String((d.spec?.replicas ?? 1) + maxSurgeOf(d)),
        };
      },
    );
    if (from !== replicas)
      this.scaledEvent(d, replicas > from ? 'up' : 'down', rs.metadata.name ?? '', from, replicas);
    return updated ?? rs;
  }

  private scaledEvent(d: KubeObject, direction: 'up' | 'down', rs: string, from: number, to: number): void {
    this.ctx.recordEvent(
      d,
      'Normal',
      'ScalingReplicaSet',
      `Scaled ${direction} replica set ${rs} to ${to} from ${from}`,
      SOURCE,
    );
  }

  /** Deletes scaled-down old ReplicaSets beyond spec.revisionHistoryLimit (default 10), oldest first. */
  private cleanupOldReplicaSets(d: KubeObject): void {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const { oldRSs } = this.split(d);
    const idle = oldRSs.filter((rs) => (rs.spec?.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0);
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      deleteObject(
        this.ctx.store,
        this.ctx.clock,
        R.replicasets,
        rs.metadata.namespace,
        rs.metadata.name ?? '',
      );
    }
  }

  private writeStatus(d: KubeObject): void {
    const { newRS, oldRSs } = this.split(d);
    const all = newRS ? [...oldRSs, newRS] : oldRSs;
    const sum = (field: string) => all.reduce((n, rs) => n + (rs.status?.[field] ?? 0), 0);
    const replicas = d.spec?.replicas ?? 1;
    const status = {
      observedGeneration: d.metadata.generation,
      replicas: sum('replicas'),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum('readyReplicas'),
      availableReplicas: sum('availableReplicas'),
      unavailableReplicas: Math.max(0, replicas - sum('availableReplicas')),
    };
    const complete =
      status.updatedReplicas === replicas &&
      status.replicas === replicas &&
      status.availableReplicas === replicas;
    const now = this.ctx.clock.now();
    let conditions: DeploymentCondition[] = d.status?.conditions ?? [];
    conditions = setCondition(
      conditions,
      status.availableReplicas >= replicas - maxUnavailableOf(d)
        ? {
            type: 'Available',
            status: 'True',
            reason: 'MinimumReplicasAvailable',
            message: 'Deployment has minimum availability.',
          }
        : {
            type: 'Available',
            status: 'False',
            reason: 'MinimumReplicasUnavailable',
            message: 'Deployment does not have minimum availability.',
          },
      now,
    );
    if (newRS) {
      const rsName = newRS.metadata.name;
      conditions = setCondition(
        conditions,
        complete
          ? {
              type: 'Progressing',
              status: 'True',
              reason: 'NewReplicaSetAvailable',
              message: `ReplicaSet "${rsName}" has successfully progressed.`,
            }
          : {
              type: 'Progressing',
              status: 'True',
              reason: 'ReplicaSetUpdated',
              message: `ReplicaSet "${rsName}" is progressing.`,
            },
        now,
      );
    }
    const { conditions: _previous, ...rest } = d.status ?? {};
    updateStatusIfChanged(this.ctx.store, R.deployments, d, { ...rest, ...status, conditions });
  }
}

interface DeploymentCondition {
  type: string;
  status: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason: string;
  message: string;
}

/** Replaces a condition unless status and reason are unchanged (upstream's SetDeploymentCondition). */
function setCondition(
  conditions: DeploymentCondition[],
  next: DeploymentCondition,
  now: number,
): DeploymentCondition[] {
  const current = conditions.find((c) => c.type === next.type);
  if (current && current.status === next.status && current.reason === next.reason) return conditions;
  const stamp = rfc3339(now);
  const condition = {
    type: next.type,
    status: next.status,
    lastUpdateTime: stamp,
    lastTransitionTime: current && current.status === next.status ? current.lastTransitionTime : stamp,
    reason: next.reason,
    message: next.message,
  };
  return current ? conditions.map((c) => (c === current ? condition : c)) : [...conditions, condition];
}

/**
 * maxSurge rounds up and maxUnavailable down; if both come to 0, one pod may be unavailable (upstream's
 * resolveFenceposts). Example: 10 replicas at 25%/25% → surge 3, unavailable 2.
 */
function fenceposts(d: KubeObject): { surge: number; unavailable: number } {
  const replicas = d.spec?.replicas ?? 1;
  const rolling = d.spec?.strategy?.rollingUpdate ?? {};
  const surge = scaledValue(rolling.maxSurge ?? '25%', replicas, true);
  const unavailable = scaledValue(rolling.maxUnavailable ?? '25%', replicas, false);
  return surge === 0 && unavailable === 0 ? { surge, unavailable: 1 } : { surge, unavailable };
}

function maxSurgeOf(d: KubeObject): number {
  return d.spec?.strategy?.type === 'Recreate' ? 0 : fenceposts(d).surge;
}

export function maxUnavailableOf(d: KubeObject): number {
  const replicas = d.spec?.replicas ?? 1;
  if (d.spec?.strategy?.type === 'Recreate' || replicas === 0) return 0;
  return Math.min(fenceposts(d).unavailable, replicas);
}

/** How far the new ReplicaSet may grow now: up to replicas + maxSurge pods across all ReplicaSets. */
function newReplicaSetReplicas(d: KubeObject, all: KubeObject[], current: number): number {
  const replicas = d.spec?.replicas ?? 1;
  const podCount = all.reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0);
  const maxTotal = replicas + fenceposts(d).surge;
  if (podCount >= maxTotal) return current;
  return current + Math.min(maxTotal - podCount, replicas - current);
}

function maxRevision(replicaSets: KubeObject[]): number {
  let max = 0;
  for (const rs of replicaSets) max = Math.max(max, Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0);
  return max;
}

function byCreation(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
}
