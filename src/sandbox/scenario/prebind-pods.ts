import {
  firstUntoleratedTaint,
  parseBytes,
  parseCpuMillis,
  type Taint,
  type Toleration,
} from '../../core/index.ts';
import { applyCreateDefaults } from '../api/defaults.ts';
import { R } from '../api/resources.ts';
import { DAEMONSET_TOLERATIONS } from '../sim/controllers/node-eligibility.ts';
import { templateHash } from '../sim/controllers/template-hash.ts';
import { podRequests } from '../sim/pod-requests.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { KubeObject } from '../store/types.ts';
import { runningPodStatus } from './pod-status.ts';
import type { Manifest } from './workload-objects.ts';

interface NodeSlot {
  name: string;
  index: number;
  ip: string;
  labels: Record<string, string>;
  taints: Taint[];
  freeCpu: number;
  freeMemory: number;
  freePods: number;
  podsPlaced: number;
}

/**
 * Creates workloads with their pods already bound, Running and Ready, as if the controllers, the scheduler
 * and the kubelets had done their work: how a 150,000-pod scenario starts in seconds.
 *
 * Pods look exactly as the controllers make them: a Deployment's pods belong to a ReplicaSet
 * `<deployment>-<pod-template-hash>`, a StatefulSet's are `<name>-<ordinal>`, a DaemonSet's are pinned with
 * node affinity on `metadata.name`. Placement is first-fit over the eligible nodes (node selector,
 * NoSchedule/NoExecute taints, requests against allocatable), starting where the previous pod went so
 * replicas spread. A pod that fits nowhere is created Pending and unbound for the scheduler.
 */
export class PodPrebinder {
  private readonly slots: NodeSlot[];
  private readonly eligibleCache = new Map<string, NodeSlot[]>();
  private readonly defaultedSpecs = new WeakMap<object, { spec: KubeObject['spec']; qosClass: string }>();
  private cursor = 0;
  private slotsByName?: Map<string, NodeSlot>;
  /** Pods created that fitted nowhere and were left Pending. */
  unplaced = 0;
  placed = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly now: string,
    private readonly random: () => number,
    nodes: KubeObject[],
  ) {
    this.slots = nodes.map((n, index) => ({
      name: n.metadata.name!,
      index,
      ip: n.status.addresses.find((a: { type: string }) => a.type === 'InternalIP').address,
      labels: n.metadata.labels ?? {},
      taints: n.spec?.taints ?? [],
      freeCpu: parseCpuMillis(n.status.allocatable.cpu),
      freeMemory: parseBytes(n.status.allocatable.memory),
      freePods: Number(n.status.allocatable.pods),
      podsPlaced: 0,
    }));
    for (const slot of this.slots) {
      for (const pod of store.podsOnNode(slot.name)) this.reserve(slot, pod.spec);
    }
  }

  /**
   * Creates the workload of `manifest` (a Deployment, StatefulSet or DaemonSet) with its running pods;
   * `placement` names each replica's node ("" leaves it Pending) instead of first-fit (not for DaemonSets).
   */
  createWithPods(manifest: Manifest, placement?: readonly string[]): void {
    const workload = this.store.create(manifest.resource, manifest.object);
    switch (workload.kind) {
      case 'Deployment':
        this.deployment(workload, placement);
        return;
      case 'StatefulSet':
        this.statefulSet(workload, placement);
        return;
      case 'DaemonSet':
        this.daemonSet(workload);
        return;
      default:
        throw new Error(`cannot pre-bind pods of a ${workload.kind}`);
    }
  }

  /** Creates a bare pod, bound and running on `node` when given ("" leaves it Pending), else where it fits. */
  createBarePod(pod: KubeObject, node?: string): void {
    const slot = node !== undefined ? this.slotNamed(node) : this.pick(this.eligible(pod.spec), pod.spec);
    this.store.create(R.pods, slot ? this.bind(pod, slot) : pod);
  }

  private deployment(d: KubeObject, placement?: readonly string[]): void {
    const template = d.spec.template;
    const hash = podTemplateHash(template);
    const rsName = `${d.metadata.name}-${hash}`;
    const labels = { ...template.metadata.labels, 'pod-template-hash': hash };
    const replicas: number = d.spec.replicas ?? 1;
    const rs = this.store.create(R.replicasets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: rsName,
        namespace: d.metadata.namespace,
        labels,
        annotations: {
          'deployment.kubernetes.io/desired-replicas': String(replicas),
          'deployment.kubernetes.io/max-replicas': String(replicas + Math.ceil(replicas * 0.25)),
          'deployment.kubernetes.io/revision': '1',
        },
        ownerReferences: [controllerRef(d)],
      },
      spec: {
        replicas,
        selector: { matchLabels: { ...d.spec.selector.matchLabels, 'pod-template-hash': hash } },
        template: { ...template, metadata: { ...template.metadata, labels } },
      },
    });
    let ready = 0;
    for (let i = 0; i < replicas; i++) {
      const pod = this.podFrom(
        rs,
        this.uniqueName(rs.metadata.namespace!, `${rsName}-`),
        labels,
        template.spec,
      );
      if (this.createPlaced(pod, placement?.[i])) ready++;
    }
    const status = { observedGeneration: 1, replicas, readyReplicas: ready, availableReplicas: ready };
    this.store.mutate(R.replicasets, rs.metadata.namespace, rsName, (x) => {
      x.status = { ...status, fullyLabeledReplicas: replicas };
    });
    this.store.mutate(R.deployments, d.metadata.namespace, d.metadata.name!, (x) => {
      x.metadata.annotations = { ...x.metadata.annotations, 'deployment.kubernetes.io/revision': '1' };
      x.status = {
        ...status,
        updatedReplicas: replicas,
        unavailableReplicas: replicas - ready,
        conditions: [
          condition('Available', ready >= replicas ? 'True' : 'False', 'MinimumReplicasAvailable', this.now),
          condition('Progressing', 'True', 'NewReplicaSetAvailable', this.now),
        ],
      };
    });
  }

  private statefulSet(s: KubeObject, placement?: readonly string[]): void {
    const template = s.spec.template;
    const revision = `${s.metadata.name}-${podTemplateHash(template)}`;
    const replicas: number = s.spec.replicas ?? 1;
    let ready = 0;
    for (let i = 0; i < replicas; i++) {
      const name = `${s.metadata.name}-${i}`;
      const labels = {
        ...template.metadata.labels,
        'apps.kubernetes.io/pod-index': String(i),
        'controller-revision-hash': revision,
        'statefulset.kubernetes.io/pod-name': name,
      };
      const pod = this.podFrom(s, name, labels, template.spec, {
        hostname: name,
        subdomain: s.spec.serviceName,
      });
      if (this.createPlaced(pod, placement?.[i])) ready++;
    }
    this.store.mutate(R.statefulsets, s.metadata.namespace, s.metadata.name!, (x) => {
      x.status = {
        observedGeneration: 1,
        replicas,
        readyReplicas: ready,
        availableReplicas: ready,
        currentReplicas: replicas,
        updatedReplicas: replicas,
        currentRevision: revision,
        updateRevision: revision,
        collisionCount: 0,
      };
    });
  }

  private daemonSet(ds: KubeObject): void {
    const template = ds.spec.template;
    const labels = {
      ...template.metadata.labels,
      'controller-revision-hash': podTemplateHash(template),
      'pod-template-generation': '1',
    };
    const tolerations = [...(template.spec.tolerations ?? []), ...DAEMONSET_TOLERATIONS];
    // One object for every pod of the DaemonSet, so that it is defaulted once (see `defaulted`).
    const spec = { ...template.spec, tolerations };
    let scheduled = 0;
    let ready = 0;
    for (const slot of this.eligible(spec)) {
      const affinity = {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchFields: [{ key: 'metadata.name', operator: 'In', values: [slot.name] }] },
            ],
          },
        },
      };
      const pod = this.podFrom(
        ds,
        this.uniqueName(ds.metadata.namespace!, `${ds.metadata.name}-`),
        labels,
        spec,
        { affinity },
      );
      scheduled++;
      // Note: DaemonSet pods go on their node even when requests overflow it, as the real controller
      // binds them directly; the overflow is what a real cluster would show as over-commit.
      this.store.createOwned(R.pods, this.bind(pod, slot));
      ready++;
    }
    this.store.mutate(R.daemonsets, ds.metadata.namespace, ds.metadata.name!, (x) => {
      x.status = {
        observedGeneration: 1,
        currentNumberScheduled: scheduled,
        desiredNumberScheduled: scheduled,
        numberAvailable: ready,
        numberMisscheduled: 0,
        numberReady: ready,
        updatedNumberScheduled: scheduled,
      };
    });
  }

  /**
   * A pod of `owner` whose spec is `spec` as the API server defaults it, with the pod's own fields `ownFields`
   * (a StatefulSet pod's hostname, a DaemonSet pod's node affinity) on top.
   * Note: `spec` is defaulted once and shared by the owner's pods (`defaulted`); the API server's pod defaults
   * read none of the pod's own fields, so adding them afterwards gives the spec a defaulted
   * `{ ...spec, ...ownFields }` would have, in the same key order.
   */
  private podFrom(
    owner: KubeObject,
    name: string,
    labels: Record<string, string>,
    spec: KubeObject['spec'],
    ownFields: Record<string, unknown> = {},
  ) {
    const annotations = owner.spec?.template?.metadata?.annotations;
    const defaulted = this.defaulted(spec);
    const podSpec = { ...spec, ...ownFields, ...defaulted.spec };
    for (const [key, value] of Object.entries(ownFields)) podSpec[key] = value;
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: owner.metadata.namespace,
        labels,
        ...(annotations ? { annotations } : {}),
        ownerReferences: [controllerRef(owner)],
      },
      spec: podSpec,
      status: { phase: 'Pending', qosClass: defaulted.qosClass },
    } satisfies KubeObject;
  }

  /**
   * The pod spec as the API server defaults a controller's create (tolerations for not-ready and unreachable
   * nodes, service account, pull policy…), computed once per template spec and shared by its pods.
   */
  private defaulted(spec: KubeObject['spec']): { spec: KubeObject['spec']; qosClass: string } {
    let result = this.defaultedSpecs.get(spec);
    if (!result) {
      const pod: KubeObject = { metadata: {}, spec: structuredClone(spec) };
      applyCreateDefaults(R.pods, pod, this.random);
      result = { spec: pod.spec, qosClass: pod.status.qosClass };
      this.defaultedSpecs.set(spec, result);
    }
    return result;
  }

  /**
   * Creates the pod, bound and Running on `node` when given ("" or an unknown node leaves it Pending), else
   * where it fits; returns whether it was placed.
   */
  private createPlaced(pod: KubeObject, node?: string): boolean {
    const slot = node !== undefined ? this.slotNamed(node) : this.pick(this.eligible(pod.spec), pod.spec);
    // Note: handed over uncopied; pods of one workload share their (never changed) spec parts.
    this.store.createOwned(R.pods, slot ? this.bind(pod, slot) : pod);
    if (!slot) this.unplaced++;
    return slot !== undefined;
  }

  private bind(pod: KubeObject, slot: NodeSlot): KubeObject {
    this.reserve(slot, pod.spec);
    this.placed++;
    const podIP = podIpOn(slot, pod.spec.hostNetwork === true);
    return {
      ...pod,
      spec: { ...pod.spec, nodeName: slot.name },
      status: {
        ...runningPodStatus({
          containers: pod.spec.containers,
          hostIP: slot.ip,
          podIP,
          now: this.now,
          ready: true,
          seed: `${pod.metadata.namespace}/${pod.metadata.name}`,
        }),
        qosClass: pod.status?.qosClass ?? 'Burstable',
      },
    };
  }

  private slotNamed(name: string): NodeSlot | undefined {
    this.slotsByName ??= new Map(this.slots.map((s) => [s.name, s]));
    return this.slotsByName.get(name);
  }

  private reserve(slot: NodeSlot, spec: KubeObject['spec']): void {
    const { cpu, memory } = requestsOf(spec);
    slot.freeCpu -= cpu;
    slot.freeMemory -= memory;
    slot.freePods -= 1;
    slot.podsPlaced += 1;
  }

  private pick(eligible: NodeSlot[], spec: KubeObject['spec']): NodeSlot | undefined {
    const { cpu, memory } = requestsOf(spec);
    for (let tried = 0; tried < eligible.length; tried++) {
      const slot = eligible[(this.cursor + tried) % eligible.length]!;
      if (slot.freePods >= 1 && slot.freeCpu >= cpu && slot.freeMemory >= memory) {
        this.cursor = this.cursor + tried + 1;
        return slot;
      }
    }
    return undefined;
  }

  private eligible(spec: KubeObject['spec']): NodeSlot[] {
    const key = JSON.stringify([spec.nodeSelector ?? {}, spec.tolerations ?? []]);
    let slots = this.eligibleCache.get(key);
    if (!slots) {
      const selector: Record<string, string> = spec.nodeSelector ?? {};
      const tolerations: Toleration[] = spec.tolerations ?? [];
      slots = this.slots.filter(
        (slot) =>
          Object.entries(selector).every(([k, v]) => slot.labels[k] === v) &&
          firstUntoleratedTaint(slot.taints, tolerations) === undefined,
      );
      this.eligibleCache.set(key, slots);
    }
    return slots;
  }

  /** A free name with five characters after `prefix`, as generateName picks them, but seeded. */
  private uniqueName(namespace: string, prefix: string): string {
    const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
    for (;;) {
      let name = prefix;
      for (let i = 0; i < 5; i++) name += alphabet[Math.floor(this.random() * alphabet.length)];
      if (!this.store.get(R.pods, namespace, name)) return name;
    }
  }
}

function podIpOn(slot: NodeSlot, hostNetwork: boolean): string {
  if (hostNetwork) return slot.ip;
  const n = slot.podsPlaced;
  const base = (10 << 24) + (64 << 16) + slot.index * 256 + 2 + (n % 250);
  return [(base >>> 24) & 255, (base >>> 16) & 255, (base >>> 8) & 255, base & 255].join('.');
}

/** What the pod asks of a node, by the scheduler's own rule, so pre-bound pods fit as scheduled ones would. */
function requestsOf(spec: KubeObject['spec']): { cpu: number; memory: number } {
  const { cpuMillis, memoryBytes } = podRequests({ metadata: {}, spec });
  return { cpu: cpuMillis, memory: memoryBytes };
}

function controllerRef(owner: KubeObject) {
  return {
    apiVersion: owner.apiVersion ?? 'apps/v1',
    kind: owner.kind ?? '',
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function condition(type: string, status: string, reason: string, now: string) {
  return { type, status, reason, lastUpdateTime: now, lastTransitionTime: now, message: reason };
}

/**
 * A pod template's hash as the label value controllers use.
 * IMPORTANT: exactly the controllers' hash (sim/controllers/template-hash.ts); any other value makes the
 * Deployment and StatefulSet controllers see every prebound pod as outdated and roll them all at start.
 */
export function podTemplateHash(template: unknown): string {
  return templateHash(template);
}
