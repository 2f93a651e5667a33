/**
 * ClusterSnapshot: everything preflight and the planner read about a cluster, captured once by the kube/
 * snapshot reader. Objects keep the raw Kubernetes JSON shapes (what @kubernetes/client-node returns,
 * serialised: timestamps stay RFC 3339 strings), so a snapshot can be saved to a file and replayed.
 * Only the fields Midflight reads are typed; the reader may pass whole objects through.
 */
import type { LabelSelector } from './selectors.ts';
import type { Taint, Toleration } from './taints.ts';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
}

export interface KubeResource {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export type { Taint, Toleration } from './taints.ts';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown' | string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export type ResourceList = Record<string, string>;

export interface Node extends KubeResource {
  spec?: { unschedulable?: boolean; taints?: Taint[]; providerID?: string };
  status?: {
    capacity?: ResourceList;
    allocatable?: ResourceList;
    conditions?: Condition[];
    nodeInfo?: {
      kubeletVersion?: string;
      kubeProxyVersion?: string;
      containerRuntimeVersion?: string;
      osImage?: string;
      kernelVersion?: string;
      operatingSystem?: string;
      architecture?: string;
    };
  };
}

export interface Container {
  name: string;
  image?: string;
  resources?: { requests?: ResourceList; limits?: ResourceList };
}

export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
  hostPath?: { path: string };
  persistentVolumeClaim?: { claimName: string };
  [source: string]: unknown;
}

export interface Pod extends KubeResource {
  spec: {
    nodeName?: string;
    containers: Container[];
    initContainers?: Container[];
    volumes?: Volume[];
    nodeSelector?: Record<string, string>;
    tolerations?: Toleration[];
    priorityClassName?: string;
    terminationGracePeriodSeconds?: number;
    overhead?: ResourceList;
    affinity?: unknown;
  };
  status?: {
    phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown' | string;
    conditions?: Condition[];
    containerStatuses?: Array<{
      name: string;
      ready?: boolean;
      restartCount?: number;
      state?: { waiting?: { reason?: string; message?: string }; running?: unknown; terminated?: unknown };
    }>;
  };
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Pod['spec'];
}

export interface Workload extends KubeResource {
  /** 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'ReplicaSet' | 'Job' (the reader must set it). */
  kind: WorkloadKind;
  spec?: {
    replicas?: number;
    selector?: LabelSelector;
    template?: PodTemplate;
    strategy?: {
      type?: string;
      rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string };
    };
    /** A DaemonSet's (or StatefulSet's) rollout. */
    updateStrategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string } };
  };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    /** A DaemonSet's: the nodes it should run on. */
    desiredNumberScheduled?: number;
  };
}

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'ReplicaSet' | 'Job';

export interface PodDisruptionBudget extends KubeResource {
  spec: {
    selector?: LabelSelector;
    minAvailable?: number | string;
    maxUnavailable?: number | string;
    unhealthyPodEvictionPolicy?: 'IfHealthyBudget' | 'AlwaysAllow';
  };
  status?: {
    observedGeneration?: number;
    disruptionsAllowed?: number;
    currentHealthy?: number;
    desiredHealthy?: number;
    expectedPods?: number;
  };
}

export interface Namespace extends KubeResource {
  status?: { phase?: string };
}

export interface WebhookClientConfig {
  url?: string;
  service?: { namespace: string; name: string; port?: number; path?: string };
}

export interface Webhook {
  name: string;
  clientConfig: WebhookClientConfig;
  failurePolicy?: 'Fail' | 'Ignore';
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  rules?: unknown[];
  timeoutSeconds?: number;
}

export interface WebhookConfiguration extends KubeResource {
  kind: 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration';
  webhooks?: Webhook[];
}

export interface CustomResourceDefinition extends KubeResource {
  spec: {
    group: string;
    names: { kind: string; plural: string };
    versions: Array<{ name: string; served: boolean; storage: boolean; deprecated?: boolean }>;
  };
  status?: { storedVersions?: string[] };
}

export interface Service extends KubeResource {
  spec?: { selector?: Record<string, string>; type?: string };
}

export interface Lease extends KubeResource {
  spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number };
}

/** A Helm v3 release, already decoded from its `sh.helm.release.v1.<name>.v<N>` Secret (base64 → gzip → JSON). */
export interface HelmRelease {
  name: string;
  namespace: string;
  /** The release revision (the secret's `version` label). */
  revision: number;
  chart: string;
  chartVersion?: string;
  /** 'deployed' | 'failed' | 'superseded' | 'pending-upgrade' … */
  status: string;
  /** The rendered multi-document YAML Helm applied. */
  manifest: string;
}

export interface ServerInfo {
  /** `/version` gitVersion, e.g. "v1.30.4" or "v1.30.4-eks-1234". */
  gitVersion: string;
  url: string;
  /** The API server's serving certificate, when the connection used TLS. */
  tls?: { notAfter?: string; notBefore?: string; issuer?: string; subject?: string };
}

export interface ClusterSnapshot {
  /** RFC 3339 time the reader finished. */
  takenAt: string;
  server: ServerInfo;
  /** The kube-system namespace uid, a stable cluster fingerprint; the reader fills it. */
  clusterId?: string;
  nodes: Node[];
  pods: Pod[];
  workloads: Workload[];
  pdbs: PodDisruptionBudget[];
  namespaces: Namespace[];
  webhooks: WebhookConfiguration[];
  crds: CustomResourceDefinition[];
  csiDrivers: KubeResource[];
  services?: Service[];
  helmReleases: HelmRelease[];
  leases: Lease[];
}

export function objectKey(o: { metadata: { namespace?: string; name: string } }): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

/** The snapshot's cluster fingerprint: the kube-system uid, else the server URL. */
export function clusterFingerprint(snapshot: ClusterSnapshot): string {
  if (snapshot.clusterId) return snapshot.clusterId;
  const kubeSystem = snapshot.namespaces.find((n) => n.metadata.name === 'kube-system');
  return kubeSystem?.metadata.uid ?? snapshot.server.url;
}
