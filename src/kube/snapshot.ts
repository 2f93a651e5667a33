/**
 * readSnapshot: one read of a cluster into a ClusterSnapshot, through client-node's generated APIs.
 * Every list is paged (limit 500 + continue) across all namespaces, so a 150,000-pod cluster never comes
 * back as one giant response; every request retries 429/5xx with backoff; every failure is a KubeError.
 */
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  AppsV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  PolicyV1Api,
  StorageV1Api,
  type V1ListMeta,
  VersionApi,
} from '@kubernetes/client-node';
import {
  type Clock,
  type ClusterSnapshot,
  type CustomResourceDefinition,
  type HelmRelease,
  type KubeResource,
  type Lease,
  type Namespace,
  type Node,
  type Pod,
  type PodDisruptionBudget,
  RealClock,
  type Service,
  type WebhookConfiguration,
  type Workload,
  type WorkloadKind,
} from '../core/index.ts';
import { type RequestContext, RequestRejectedError, withApiRetries } from './errors.ts';
import { decodeHelmReleaseSecret, isHelmReleaseSecret, type SecretJson } from './helm-release.ts';
import { readServingCertificate } from './server-certificate.ts';
import { toWireFormat } from './wire-format.ts';

export const SNAPSHOT_PAGE_SIZE = 500;

/** Reported after every page, so a CLI can show that a large cluster is being read. */
export interface SnapshotProgress {
  /** "pods", "nodes", "helm releases"… */
  resource: string;
  /** Objects of this resource read so far. */
  read: number;
  /** True once the resource has been read completely. */
  done: boolean;
}

export interface ReadSnapshotOptions {
  /** Epoch milliseconds for `takenAt` (default: the clock's now). */
  now?: () => number;
  /** Sleeps between retries (default: RealClock). */
  clock?: Clock;
  onProgress?: (progress: SnapshotProgress) => void;
  /** Things read but not understood (an undecodable Helm secret): the snapshot is still usable. */
  onWarning?: (message: string) => void;
  /** Attempts per request for 429/5xx answers and resets (default 4). */
  attempts?: number;
  /** Wait before the first retry, doubling afterwards (default 250 ms). */
  retryDelayMs?: number;
  /** Objects per list request (default SNAPSHOT_PAGE_SIZE). */
  pageSize?: number;
  /**
   * Read Helm releases (default true). They live in Secrets; a reader that must not read Secrets (`rehearse`)
   * says false, and no Secret is listed at all.
   */
  helmReleases?: boolean;
}

/** A Helm secret that cannot be decoded is skipped, not fatal: preflight cannot see that release. */
export interface UndecodableHelmSecret {
  namespace: string;
  name: string;
  error: string;
}

interface ListPage<T> {
  items: T[];
  metadata?: V1ListMeta;
}

type PageRequest = { limit: number; _continue?: string };

export async function readSnapshot(
  kc: KubeConfig,
  options: ReadSnapshotOptions = {},
): Promise<ClusterSnapshot> {
  const clock = options.clock ?? new RealClock();
  const now = options.now ?? (() => clock.now());
  const server = kc.getCurrentCluster()?.server ?? '(no cluster)';
  const pageSize = options.pageSize ?? SNAPSHOT_PAGE_SIZE;
  let abandoned: Error | undefined;
  const retry = { clock, attempts: options.attempts, baseDelayMs: options.retryDelayMs };
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const policy = kc.makeApiClient(PolicyV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  const storage = kc.makeApiClient(StorageV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);

  /**
   * Every page of one list, converted to wire JSON. Note: a continue token can expire (410 Gone) while a
   * huge list is being paged; like kubectl, start that list again from the beginning (twice at most).
   */
  const listAll = async <T>(
    resource: string,
    wireType: string,
    fetchPage: (page: PageRequest) => Promise<ListPage<unknown>>,
  ): Promise<T[]> => {
    const context: RequestContext = { server, operation: `listing ${resource}` };
    for (let restarts = 0; ; restarts++) {
      if (abandoned) throw abandoned;
      const items: T[] = [];
      let cont: string | undefined;
      try {
        do {
          // Once one list has failed the snapshot is lost: stop paging the others.
          if (abandoned) throw abandoned;
          const page = await withApiRetries(
            context,
            () => fetchPage({ limit: pageSize, _continue: cont }),
            retry,
          );
          for (const item of page.items) items.push(toWireFormat<T>(item, wireType));
          cont = page.metadata?._continue || undefined;
          options.onProgress?.({ resource, read: items.length, done: cont === undefined });
        } while (cont);
        return items;
      } catch (err) {
        const expired = err instanceof RequestRejectedError && err.status === 410;
        if (!expired || restarts >= 2) {
          abandoned ??= err as Error;
          throw err;
        }
      }
    }
  };
  const kinded = <T extends KubeResource>(items: T[], apiVersion: string, kind: string) => {
    for (const item of items) {
      item.apiVersion ??= apiVersion;
      item.kind = kind;
    }
    return items;
  };
  const workloads = async (kind: WorkloadKind, apiVersion: string, list: () => Promise<Workload[]>) =>
    kinded(await list(), apiVersion, kind);

  const versionContext = { server, operation: 'reading /version' };
  const [version, tls] = await Promise.all([
    withApiRetries(versionContext, () => kc.makeApiClient(VersionApi).getCode(), retry),
    readServingCertificate(kc),
  ]);

  const [
    nodes,
    pods,
    namespaces,
    deployments,
    statefulSets,
    daemonSets,
    replicaSets,
    jobs,
    pdbs,
    validating,
    mutating,
    crds,
    csiDrivers,
    services,
    helmSecrets,
    leases,
  ] = await Promise.all([
    listAll<Node>('nodes', 'V1Node', (p) => core.listNode(p)),
    listAll<Pod>('pods', 'V1Pod', (p) => core.listPodForAllNamespaces(p)),
    listAll<Namespace>('namespaces', 'V1Namespace', (p) => core.listNamespace(p)),
    workloads('Deployment', 'apps/v1', () =>
      listAll('deployments', 'V1Deployment', (p) => apps.listDeploymentForAllNamespaces(p)),
    ),
    workloads('StatefulSet', 'apps/v1', () =>
      listAll('statefulsets', 'V1StatefulSet', (p) => apps.listStatefulSetForAllNamespaces(p)),
    ),
    workloads('DaemonSet', 'apps/v1', () =>
      listAll('daemonsets', 'V1DaemonSet', (p) => apps.listDaemonSetForAllNamespaces(p)),
    ),
    workloads('ReplicaSet', 'apps/v1', () =>
      listAll('replicasets', 'V1ReplicaSet', (p) => apps.listReplicaSetForAllNamespaces(p)),
    ),
    workloads('Job', 'batch/v1', () => listAll('jobs', 'V1Job', (p) => batch.listJobForAllNamespaces(p))),
    listAll<PodDisruptionBudget>('poddisruptionbudgets', 'V1PodDisruptionBudget', (p) =>
      policy.listPodDisruptionBudgetForAllNamespaces(p),
    ),
    listAll<WebhookConfiguration>(
      'validatingwebhookconfigurations',
      'V1ValidatingWebhookConfiguration',
      (p) => admission.listValidatingWebhookConfiguration(p),
    ),
    listAll<WebhookConfiguration>('mutatingwebhookconfigurations', 'V1MutatingWebhookConfiguration', (p) =>
      admission.listMutatingWebhookConfiguration(p),
    ),
    listAll<CustomResourceDefinition>('customresourcedefinitions', 'V1CustomResourceDefinition', (p) =>
      extensions.listCustomResourceDefinition(p),
    ),
    listAll<KubeResource>('csidrivers', 'V1CSIDriver', (p) => storage.listCSIDriver(p)),
    listAll<Service>('services', 'V1Service', (p) => core.listServiceForAllNamespaces(p)),
    options.helmReleases === false
      ? ([] as SecretJson[])
      : listAll<SecretJson>('helm release secrets', 'V1Secret', (p) =>
          core.listSecretForAllNamespaces({ ...p, labelSelector: 'owner=helm' }),
        ),
    listAll<Lease>('leases', 'V1Lease', (p) => coordination.listLeaseForAllNamespaces(p)),
  ]);

  const { releases, undecodable } = decodeHelmReleases(helmSecrets);
  for (const u of undecodable) {
    options.onWarning?.(`skipped Helm release secret ${u.namespace}/${u.name}: ${u.error}`);
  }
  return {
    takenAt: new Date(now()).toISOString(),
    server: { gitVersion: version.gitVersion, url: server, ...(tls ? { tls } : {}) },
    clusterId: namespaces.find((n) => n.metadata.name === 'kube-system')?.metadata.uid,
    nodes: kinded(nodes, 'v1', 'Node'),
    pods: kinded(pods, 'v1', 'Pod'),
    workloads: [...deployments, ...statefulSets, ...daemonSets, ...replicaSets, ...jobs],
    pdbs: kinded(pdbs, 'policy/v1', 'PodDisruptionBudget'),
    namespaces: kinded(namespaces, 'v1', 'Namespace'),
    webhooks: [
      ...kinded(validating, 'admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration'),
      ...kinded(mutating, 'admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration'),
    ],
    crds: kinded(crds.map(withoutSchemas), 'apiextensions.k8s.io/v1', 'CustomResourceDefinition'),
    csiDrivers: kinded(csiDrivers, 'storage.k8s.io/v1', 'CSIDriver'),
    services: kinded(services, 'v1', 'Service'),
    helmReleases: releases,
    leases: kinded(leases, 'coordination.k8s.io/v1', 'Lease'),
  };
}

/** Decodes every Helm release secret; the ones that cannot be decoded are returned apart. */
export function decodeHelmReleases(secrets: readonly SecretJson[]): {
  releases: HelmRelease[];
  undecodable: UndecodableHelmSecret[];
} {
  const releases: HelmRelease[] = [];
  const undecodable: UndecodableHelmSecret[] = [];
  for (const secret of secrets) {
    if (!isHelmReleaseSecret(secret)) continue;
    try {
      releases.push(decodeHelmReleaseSecret(secret));
    } catch (err) {
      undecodable.push({
        namespace: secret.metadata.namespace ?? 'default',
        name: secret.metadata.name,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return { releases, undecodable };
}

/**
 * CRD schemas can run to megabytes and nothing downstream reads them: keep versions' names and flags only.
 */
function withoutSchemas(crd: CustomResourceDefinition): CustomResourceDefinition {
  const versions = crd.spec.versions.map(({ name, served, storage, deprecated }) =>
    deprecated === undefined ? { name, served, storage } : { name, served, storage, deprecated },
  );
  return { ...crd, spec: { ...crd.spec, versions } };
}
