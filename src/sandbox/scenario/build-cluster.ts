import { applyGeneratedJobSelector } from '../api/defaults.ts';
import { apiVersionOf, R, RESOURCES, storeKey } from '../api/resources.ts';
import type { SandboxContext } from '../context.ts';
import { seedMachineDeployment } from '../sim/cluster-api-seed.ts';
import { ControlPlane, type NodeRebooter } from '../sim/control-plane.ts';
import { rfc3339 } from '../store/deletion.ts';
import type { KubeObject } from '../store/types.ts';
import { addonManifests } from './addon-manifests.ts';
import { SCENARIO_LABEL } from './annotations.ts';
import { helmReleaseSecret } from './helm-release.ts';
import { CONTROL_PLANE_LABEL, ipv4, nodeObject } from './node-object.ts';
import { PodPrebinder } from './prebind-pods.ts';
import type { Scenario } from './scenario-types.ts';
import { type Manifest, workloadManifests } from './workload-objects.ts';

export interface BuildOptions {
  /** Handed to the ControlPlane for upgrades that restart a member's kubelet. */
  rebooter?: NodeRebooter;
}

export interface BuiltCluster {
  controlPlane: ControlPlane;
  nodes: number;
  /** Pods created by the builder itself (mirror pods, bare pods, and all pods when pre-binding). */
  pods: number;
}

const INSTANCE_TYPE_LABEL = 'node.kubernetes.io/instance-type';
const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/**
 * Creates a scenario's cluster in the store: namespaces, control-plane and worker nodes, the control
 * plane's mirror pods, the kube-system add-ons, the workloads with their PDBs and Services, Helm release
 * Secrets and any extra objects. Workload pods are left to the controllers, scheduler and kubelets, unless
 * the scenario asks for `prebindPods`, in which case they are created bound, Running and Ready.
 */
export function buildCluster(
  ctx: SandboxContext,
  scenario: Scenario,
  options: BuildOptions = {},
): BuiltCluster {
  const { store } = ctx;
  const now = rfc3339(ctx.clock.now());
  const podsBefore = store.count(R.pods);
  const scenarioLabel = { [SCENARIO_LABEL]: scenario.name };

  const namespaces = new Set(SYSTEM_NAMESPACES);
  for (const w of scenario.workloads) namespaces.add(w.namespace);
  for (const h of scenario.helmReleases) namespaces.add(h.namespace);
  for (const o of scenario.objects) if (o.metadata.namespace) namespaces.add(o.metadata.namespace);
  for (const p of scenario.nodePools) if (p.machineDeployment) namespaces.add(p.machineDeployment.namespace);
  for (const ns of namespaces) {
    createIfMissing(ctx, R.namespaces, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
    createIfMissing(ctx, R.serviceaccounts, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: ns },
    });
  }

  let index = 0;
  const cp = scenario.controlPlane;
  const controlPlaneNodes: string[] = [];
  for (let i = 1; i <= cp.nodes; i++) {
    const name = `cp-${i}`;
    controlPlaneNodes.push(name);
    store.create(
      R.nodes,
      nodeObject({
        name,
        index: index++,
        pool: 'control-plane',
        kubeletVersion: cp.kubeletVersion,
        capacity: cp.capacity,
        instanceType: `sandbox-${cp.capacity.cpu}c-${cp.capacity.memory.toLowerCase()}`,
        labels: { [CONTROL_PLANE_LABEL]: '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' },
        taints: [{ key: CONTROL_PLANE_LABEL, effect: 'NoSchedule' }],
        osImage: cp.osImage,
        containerRuntime: cp.containerRuntime,
        kernel: cp.kernel,
        now,
      }),
    );
  }
  for (const pool of scenario.nodePools) {
    const names: string[] = [];
    for (let i = 1; i <= pool.count; i++) {
      names.push(`${pool.name}-${i}`);
      store.create(
        R.nodes,
        nodeObject({
          name: `${pool.name}-${i}`,
          index: index++,
          zone: pool.zones.length > 0 ? pool.zones[(i - 1) % pool.zones.length] : undefined,
          pool: pool.name,
          kubeletVersion: pool.version,
          capacity: pool.capacity,
          instanceType: pool.instanceType,
          labels: pool.labels,
          taints: pool.taints,
          osImage: pool.osImage,
          containerRuntime: pool.containerRuntime,
          kernel: pool.kernel,
          now,
        }),
      );
    }
    seedMachineDeployment(ctx, pool, names, scenario.name);
  }

  for (const spec of scenario.nodes ?? []) {
    const node = nodeObject({
      ...spec,
      index: index++,
      instanceType: spec.labels[INSTANCE_TYPE_LABEL] ?? 'copied',
      now,
    });
    // A copied node keeps exactly its own labels: none of the zone or region labels a pool's node gets.
    node.metadata.labels = { ...spec.labels };
    if (spec.unschedulable) node.spec.unschedulable = true;
    store.create(R.nodes, node);
    if (spec.labels[CONTROL_PLANE_LABEL] !== undefined) controlPlaneNodes.push(spec.name);
  }

  const controlPlane = new ControlPlane(ctx, {
    fallbackVersion: scenario.kubernetesVersion,
    rebooter: options.rebooter,
  });
  for (const node of controlPlaneNodes) controlPlane.bootstrapMember(node, scenario.kubernetesVersion);

  let clusterIp = (10 << 24) + (96 << 16) + 11;
  const nextClusterIp = () => ipv4(clusterIp++);
  createIfMissing(ctx, R.services, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.0.1',
      clusterIPs: ['10.96.0.1'],
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
      sessionAffinity: 'None',
    },
  });

  const manifests: Array<Manifest & { placement?: string[] }> =
    scenario.addons === false ? [] : [...addonManifests(scenario.kubernetesVersion, nextClusterIp)];
  for (const w of scenario.workloads) {
    let barePod = 0;
    for (const m of workloadManifests(w, nextClusterIp)) {
      m.object.metadata.labels = { ...m.object.metadata.labels, ...scenarioLabel };
      // A bare pod is one manifest per replica: each takes its own entry of the placement.
      const placement =
        m.object.kind === 'Pod'
          ? w.placement?.slice(barePod, ++barePod)
          : m.object.kind === w.kind
            ? w.placement
            : undefined;
      manifests.push({ ...m, placement });
    }
  }
  const prebinder = scenario.prebindPods
    ? new PodPrebinder(store, now, ctx.random, store.list(R.nodes))
    : undefined;
  for (const m of manifests) {
    const kind = m.object.kind;
    if (prebinder && (kind === 'Deployment' || kind === 'StatefulSet' || kind === 'DaemonSet')) {
      prebinder.createWithPods(m, m.placement);
    } else if (prebinder && kind === 'Pod') {
      prebinder.createBarePod(m.object, m.placement?.[0]);
    } else if (kind === 'Job') {
      createJob(ctx, m.object);
    } else {
      store.create(m.resource, m.object);
    }
  }

  for (const release of scenario.helmReleases) store.create(R.secrets, helmReleaseSecret(release, now));
  for (const object of scenario.objects) store.create(resourceOf(object), object);
  // A class the workloads use and the scenario's objects do not define: a network block store's.
  for (const w of scenario.workloads)
    if (w.storageClass) createIfMissing(ctx, R.storageclasses, storageClassObject(w.storageClass));

  return { controlPlane, nodes: store.count(R.nodes), pods: store.count(R.pods) - podsBefore };
}

/**
 * A Job as the API server stores it: the server generates the selector from the Job's own uid, so the
 * Job is created first and then given `batch.kubernetes.io/controller-uid` on its selector and template.
 */
function createJob(ctx: SandboxContext, job: KubeObject): void {
  const created = ctx.store.create(R.jobs, job);
  ctx.store.mutate(R.jobs, created.metadata.namespace, created.metadata.name!, applyGeneratedJobSelector);
}

function createIfMissing(ctx: SandboxContext, resource: string, object: KubeObject): void {
  if (!ctx.store.get(resource, object.metadata.namespace, object.metadata.name!))
    ctx.store.create(resource, object);
}

/** The store resource of a raw object, from its apiVersion and kind. */
function resourceOf(object: KubeObject): string {
  const info = RESOURCES.find((r) => apiVersionOf(r) === object.apiVersion && r.kind === object.kind);
  if (!info) {
    const known = [...new Set(RESOURCES.map((r) => `${apiVersionOf(r)} ${r.kind}`))].join(', ');
    throw new Error(
      `scenario object ${object.kind}/${object.metadata.name}: ${object.apiVersion} ${object.kind} is not served by the sandbox (served: ${known})`,
    );
  }
  return storeKey(info);
}

/**
 * The CSI driver behind the storage classes the builder creates: a network block store, whose volumes are
 * attached to a node before a pod there can use them (no CSIDriver object says otherwise, so attach is
 * required, as for a cloud disk).
 */
export const BLOCK_STORE_PROVISIONER = 'block.csi.sandbox.midflight.dev';

function storageClassObject(name: string): KubeObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner: BLOCK_STORE_PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
    allowVolumeExpansion: true,
  };
}
