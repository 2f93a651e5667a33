/**
 * readSnapshot: one read of a cluster into a ClusterSnapshot, with client-node's credentials and the API
 * server's JSON as it comes (requestJson): a ClusterSnapshot is wire JSON, and decoding 150,000 pods into
 * client-node's model classes only to turn them back cost more than the rest of the read.
 * Every list is paged (limit 500 + continue) across all namespaces, so a 150,000-pod cluster never comes
 * back as one giant response; every request retries 429/5xx with backoff; every failure is a KubeError.
 */
import type { KubeConfig } from '@kubernetes/client-node';
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
import { requestJson } from './client.ts';
import { type RequestContext, RequestRejectedError, withApiRetries } from './errors.ts';
import { decodeHelmReleaseSecret, isHelmReleaseSecret, type SecretJson } from './helm-release.ts';
import { readServingCertificate } from './server-certificate.ts';
import { withoutNulls } from './wire-format.ts';

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
  items?: T[] | null;
  metadata?: { continue?: string };
}

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

  /**
   * Every page of one list (`path`: the collection, with a query of its own or none). Note: a continue token
   * can expire (410 Gone) while a huge list is being paged; like kubectl, start that list again from the
   * beginning (twice at most).
   */
  const listAll = async <T>(resource: string, path: string): Promise<T[]> => {
    const context: RequestContext = { server, operation: `listing ${resource}` };
    const [collection, query] = path.split('?', 2) as [string, string | undefined];
    for (let restarts = 0; ; restarts++) {
      if (abandoned) throw abandoned;
      const items: T[] = [];
      let cont: string | undefined;
      try {
        do {
          // Once one list has failed the snapshot is lost: stop paging the others.
          if (abandoned) throw abandoned;
          const params = new URLSearchParams(query);
          params.set('limit', String(pageSize));
          if (cont) params.set('continue', cont);
          const page = await withApiRetries(
            context,
            () => requestJson<ListPage<T>>(kc, 'GET', `${collection}?${params}`),
            retry,
          );
          for (const item of page.items ?? []) items.push(withoutNulls(item));
          cont = page.metadata?.continue || undefined;
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
  const workloads = async (kind: WorkloadKind, apiVersion: string, resource: string, path: string) =>
    kinded(await listAll<Workload>(resource, path), apiVersion, kind);

  const versionContext = { server, operation: 'reading /version' };
  const [version, tls] = await Promise.all([
    withApiRetries(versionContext, () => requestJson<{ gitVersion: string }>(kc, 'GET', '/version'), retry),
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
    listAll<Node>('nodes', '/api/v1/nodes'),
    listAll<Pod>('pods', '/api/v1/pods'),
    listAll<Namespace>('namespaces', '/api/v1/namespaces'),
    workloads('Deployment', 'apps/v1', 'deployments', '/apis/apps/v1/deployments'),
    workloads('StatefulSet', 'apps/v1', 'statefulsets', '/apis/apps/v1/statefulsets'),
    workloads('DaemonSet', 'apps/v1', 'daemonsets', '/apis/apps/v1/daemonsets'),
    workloads('ReplicaSet', 'apps/v1', 'replicasets', '/apis/apps/v1/replicasets'),
    workloads('Job', 'batch/v1', 'jobs', '/apis/batch/v1/jobs'),
    listAll<PodDisruptionBudget>('poddisruptionbudgets', '/apis/policy/v1/poddisruptionbudgets'),
    listAll<WebhookConfiguration>(
      'validatingwebhookconfigurations',
      '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
    ),
    listAll<WebhookConfiguration>(
      'mutatingwebhookconfigurations',
      '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
    ),
    listAll<CustomResourceDefinition>(
      'customresourcedefinitions',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    ),
    listAll<KubeResource>('csidrivers', '/apis/storage.k8s.io/v1/csidrivers'),
    listAll<Service>('services', '/api/v1/services'),
    options.helmReleases === false
      ? ([] as SecretJson[])
      : listAll<SecretJson>('helm release secrets', '/api/v1/secrets?labelSelector=owner%3Dhelm'),
    listAll<Lease>('leases', '/apis/coordination.k8s.io/v1/leases'),
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
