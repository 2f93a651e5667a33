/**
 * Cluster API's MachineDeployment and MachineSet controllers, simulated, as the Deployment and ReplicaSet
 * controllers are for pods: a MachineDeployment keeps one MachineSet per template (named by the template's
 * hash) and rolls from the old ones to the new one within maxSurge/maxUnavailable; a MachineSet keeps
 * `spec.replicas` Machines, and when it has too many removes first those annotated
 * `cluster.x-k8s.io/delete-machine`, then those not running, then by its deletePolicy. The Machines' own life
 * (a node provisioned, nodeRef, phase, deletion) is cluster-api-machines.ts.
 *
 * Simplified: the RollingUpdate strategy only (OnDelete and the v1.x rollout details such as proportional
 * scaling mid-rollout are not simulated); no MachineHealthCheck; minReadySeconds is 0.
 */
import {
  CAPI_API_VERSION,
  CAPI_CLUSTER_NAME_LABEL,
  CAPI_DELETE_MACHINE_ANNOTATION,
  CAPI_DEPLOYMENT_NAME_LABEL,
  CAPI_MACHINE_FINALIZER,
  CAPI_SET_NAME_LABEL,
  CAPI_TEMPLATE_HASH_LABEL,
  formatLabelSelector,
  scaledValue,
} from '../../core/index.ts';
import { R } from '../api/resources.ts';
import type { SandboxContext } from '../context.ts';
import { deleteObject } from '../store/deletion.ts';
import type { KubeObject } from '../store/types.ts';
import { OwnerController } from './controllers/owner-controller.ts';
import { controllerRefTo } from './controllers/owner-refs.ts';
import { updateStatusIfChanged } from './controllers/status-writer.ts';
import { stableStringify, templateHash } from './controllers/template-hash.ts';
import { splitQueueKey } from './controllers/work-queue.ts';

/** A Machine whose node is registered and Ready (what a MachineSet counts as ready and available). */
export function isMachineReady(machine: KubeObject): boolean {
  return (
    machine.status?.phase === 'Running' &&
    (machine.status?.conditions ?? []).some(
      (c: { type: string; status: string }) => c.type === 'NodeHealthy' && c.status === 'True',
    )
  );
}

const isLive = (obj: KubeObject) => !obj.metadata.deletionTimestamp;

/** The hash a MachineDeployment's MachineSet for `template` carries (the template without that label). */
export function machineTemplateHash(template: KubeObject['spec'] | undefined): string {
  const copy = structuredClone(template ?? {});
  if (copy.metadata?.labels) delete copy.metadata.labels[CAPI_TEMPLATE_HASH_LABEL];
  return templateHash(JSON.parse(stableStringify(copy)));
}

/** The MachineSet a MachineDeployment runs `replicas` of its current template with. */
export function machineSetFor(md: KubeObject, replicas: number): KubeObject {
  const template = structuredClone(md.spec?.template ?? {});
  const hash = machineTemplateHash(md.spec?.template);
  const name = md.metadata.name ?? '';
  const labels = {
    ...template.metadata?.labels,
    [CAPI_DEPLOYMENT_NAME_LABEL]: name,
    [CAPI_TEMPLATE_HASH_LABEL]: hash,
  };
  template.metadata = { ...template.metadata, labels };
  return {
    apiVersion: CAPI_API_VERSION,
    kind: 'MachineSet',
    metadata: {
      name: `${name}-${hash}`,
      namespace: md.metadata.namespace,
      labels: { ...labels, [CAPI_CLUSTER_NAME_LABEL]: md.spec?.clusterName ?? '' },
      ownerReferences: [controllerRefTo(md, CAPI_API_VERSION, 'MachineDeployment')],
    },
    spec: {
      clusterName: md.spec?.clusterName,
      replicas,
      deletePolicy: md.spec?.strategy?.rollingUpdate?.deletePolicy ?? 'Random',
      selector: {
        matchLabels: { ...md.spec?.selector?.matchLabels, [CAPI_TEMPLATE_HASH_LABEL]: hash },
        ...(md.spec?.selector?.matchExpressions
          ? { matchExpressions: md.spec.selector.matchExpressions }
          : {}),
      },
      template,
    },
  };
}

/** A Machine of `ms` from its template: the MachineSet's labels, owned by it, held by the machine finalizer. */
export function machineFor(ms: KubeObject, name?: string): KubeObject {
  const template = ms.spec?.template ?? {};
  const deployment = ms.metadata.labels?.[CAPI_DEPLOYMENT_NAME_LABEL];
  return {
    apiVersion: CAPI_API_VERSION,
    kind: 'Machine',
    metadata: {
      ...(name ? { name } : { generateName: `${ms.metadata.name}-` }),
      namespace: ms.metadata.namespace,
      labels: {
        ...template.metadata?.labels,
        [CAPI_SET_NAME_LABEL]: ms.metadata.name ?? '',
        [CAPI_CLUSTER_NAME_LABEL]: ms.spec?.clusterName ?? '',
        ...(deployment ? { [CAPI_DEPLOYMENT_NAME_LABEL]: deployment } : {}),
      },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [controllerRefTo(ms, CAPI_API_VERSION, 'MachineSet')],
      finalizers: [CAPI_MACHINE_FINALIZER],
    },
    spec: { ...structuredClone(template.spec ?? {}), clusterName: ms.spec?.clusterName },
  };
}

export class MachineDeploymentController extends OwnerController {
  constructor(ctx: SandboxContext) {
    super(ctx, {
      name: 'machinedeployment-controller',
      owners: R.machinedeployments,
      ownerKind: 'MachineDeployment',
      owned: R.machinesets,
    });
  }

  protected sync(key: string): void {
    const { store } = this.ctx;
    const [namespace, name] = splitQueueKey(key);
    const md = store.get(R.machinedeployments, namespace, name);
    if (!md || md.metadata.deletionTimestamp) return;
    const desired = md.spec?.replicas ?? 1;
    const sets = this.ownedBy(md.metadata.uid).filter(isLive);
    const hash = machineTemplateHash(md.spec?.template);
    const current = sets.find((ms) => ms.metadata.labels?.[CAPI_TEMPLATE_HASH_LABEL] === hash);
    if (!current) {
      const olds = sets.some((ms) => (ms.spec?.replicas ?? 0) > 0);
      // A first MachineSet takes every replica; a new template starts at 0 and rolls in below.
      store.create(R.machinesets, machineSetFor(md, olds ? 0 : desired));
      return;
    }
    const olds = sets.filter((ms) => ms !== current);
    if (olds.every((ms) => (ms.spec?.replicas ?? 0) === 0)) this.scale(current, desired);
    else this.roll(md, current, olds, desired);
    this.writeStatus(md, current, this.ownedBy(md.metadata.uid).filter(isLive));
  }

  /**
   * One step of a rolling update, as Kubernetes' Deployment controller takes it. Worked example: 3 replicas,
   * maxSurge 1, maxUnavailable 0, all 3 on the old set: the new set goes to 1 (4 in all); once its machine
   * is ready, 4 are available and 3 must stay, so the old set goes to 2; and so on.
   */
  private roll(md: KubeObject, current: KubeObject, olds: KubeObject[], desired: number): void {
    const rolling = md.spec?.strategy?.rollingUpdate ?? {};
    const maxSurge = scaledValue(rolling.maxSurge ?? 1, desired, true);
    let maxUnavailable = scaledValue(rolling.maxUnavailable ?? 0, desired, false);
    if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    const replicasOf = (ms: KubeObject) => ms.spec?.replicas ?? 0;
    const total = replicasOf(current) + olds.reduce((n, ms) => n + replicasOf(ms), 0);
    this.scale(current, Math.min(desired, replicasOf(current) + Math.max(0, desired + maxSurge - total)));

    // IMPORTANT: a MachineSet whose status is not yet of its current spec cannot say how many of its
    // Machines serve: nothing is removed until it can (its status update queues this MachineDeployment).
    const observed = (ms: KubeObject) =>
      ms.status !== undefined && ms.status.observedGeneration === ms.metadata.generation;
    if (![current, ...olds].every(observed)) return;
    const ready = (ms: KubeObject) => this.readyMachines(ms);
    const available = ready(current) + olds.reduce((n, ms) => n + ready(ms), 0);
    let removable = Math.max(0, available - (desired - maxUnavailable));
    for (const ms of [...olds].sort(byCreation)) {
      const unhealthy = Math.max(0, replicasOf(ms) - ready(ms));
      const fromHealthy = Math.min(removable, replicasOf(ms) - unhealthy);
      removable -= fromHealthy;
      this.scale(ms, replicasOf(ms) - unhealthy - fromHealthy);
    }
  }

  private readyMachines(ms: KubeObject): number {
    return ms.status?.readyReplicas ?? 0;
  }

  private scale(ms: KubeObject, replicas: number): void {
    if ((ms.spec?.replicas ?? 0) === replicas) return;
    this.ctx.store.mutate(R.machinesets, ms.metadata.namespace, ms.metadata.name ?? '', (draft) => {
      draft.spec = { ...draft.spec, replicas };
    });
  }

  private writeStatus(md: KubeObject, current: KubeObject, sets: KubeObject[]): void {
    const sum = (field: string) => sets.reduce((n, ms) => n + (ms.status?.[field] ?? 0), 0);
    const desired = md.spec?.replicas ?? 1;
    const replicas = sum('replicas');
    const available = sum('availableReplicas');
    updateStatusIfChanged(this.ctx.store, R.machinedeployments, md, {
      ...md.status,
      selector: selectorText(md),
      replicas,
      updatedReplicas: current.status?.replicas ?? 0,
      readyReplicas: sum('readyReplicas'),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, desired - available),
      observedGeneration: md.metadata.generation,
      phase: replicas < desired ? 'ScalingUp' : replicas > desired ? 'ScalingDown' : 'Running',
    });
  }
}

export class MachineSetController extends OwnerController {
  constructor(ctx: SandboxContext) {
    super(ctx, {
      name: 'machineset-controller',
      owners: R.machinesets,
      ownerKind: 'MachineSet',
      owned: R.machines,
    });
  }

  protected sync(key: string): void {
    const { store } = this.ctx;
    const [namespace, name] = splitQueueKey(key);
    const ms = store.get(R.machinesets, namespace, name);
    if (!ms || ms.metadata.deletionTimestamp) return;
    const live = this.ownedBy(ms.metadata.uid).filter(isLive);
    const desired = ms.spec?.replicas ?? 1;
    for (let i = live.length; i < desired; i++) store.create(R.machines, machineFor(ms));
    if (live.length > desired)
      for (const machine of machinesToDelete(live, live.length - desired, ms.spec?.deletePolicy, this.ctx))
        deleteObject(store, this.ctx.clock, R.machines, namespace, machine.metadata.name ?? '');
    this.writeStatus(ms, this.ownedBy(ms.metadata.uid).filter(isLive));
  }

  private writeStatus(ms: KubeObject, live: KubeObject[]): void {
    const ready = live.filter(isMachineReady).length;
    const templateLabels: Record<string, string> = ms.spec?.template?.metadata?.labels ?? {};
    updateStatusIfChanged(this.ctx.store, R.machinesets, ms, {
      ...ms.status,
      selector: selectorText(ms),
      replicas: live.length,
      fullyLabeledReplicas: live.filter((m) =>
        Object.entries(templateLabels).every(([k, v]) => m.metadata.labels?.[k] === v),
      ).length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: ms.metadata.generation,
    });
  }
}

/**
 * The Machines a MachineSet removes when it has `count` too many, in Cluster API's order: those annotated
 * `cluster.x-k8s.io/delete-machine` first, then those failed or without a node, then by deletePolicy
 * (Newest, Oldest, or Random: seeded, so a scenario replays the same way).
 */
export function machinesToDelete(
  live: KubeObject[],
  count: number,
  policy: string | undefined,
  ctx: Pick<SandboxContext, 'random'>,
): KubeObject[] {
  const priority = (m: KubeObject) =>
    m.metadata.annotations?.[CAPI_DELETE_MACHINE_ANNOTATION] !== undefined
      ? 0
      : m.status?.phase === 'Failed' || !m.status?.nodeRef
        ? 1
        : 2;
  const ranked = live.map((m) => ({ m, p: priority(m), r: policy === 'Random' ? ctx.random() : 0 }));
  ranked.sort((a, b) => {
    if (a.p !== b.p) return a.p - b.p;
    if (policy === 'Oldest') return byCreation(a.m, b.m);
    if (policy === 'Newest') return byCreation(b.m, a.m);
    return a.r - b.r;
  });
  return ranked.slice(0, count).map((x) => x.m);
}

function byCreation(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
}

function selectorText(obj: KubeObject): string {
  try {
    return obj.spec?.selector ? formatLabelSelector(obj.spec.selector) : '';
  } catch {
    return '';
  }
}
