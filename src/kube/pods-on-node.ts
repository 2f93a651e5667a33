/**
 * The pods bound to a node, in every namespace, as the API server's plain JSON (the snapshot's `Pod` shape),
 * page by page.
 *
 * Note: not through the generated client. Its typed decoding walks every field of every pod against the
 * model's attribute map, and per-node pod lists are what the engine reads most (admission reads candidates'
 * pods for every choice, a drain lists its node's before it evicts them): in a rehearsal of 300 nodes the typed
 * decoding was a tenth of all CPU. Readers get strings where the typed client gave Dates (timestamps) and
 * must not rely on anything else it did.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock, Pod } from '../core/index.ts';
import { requestRaw } from './client.ts';
import { withRetries } from './retry.ts';

/** A pod as a metadata list gives it. */
export type PodMetadata = Pick<Pod, 'metadata'>;

/** Pages of this many pods: a node rarely holds more, and a page stays a few MiB at most. */
const PAGE_LIMIT = '500';

/**
 * What client-go's metadata client asks for, whole objects as the fallback: an API server answers the first
 * type it serves (every one since 1.15 serves metadata lists).
 */
const METADATA_LIST_ACCEPT =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json';

interface ListPage<T> {
  items: T[];
  metadata?: { continue?: string; resourceVersion?: string };
}

/** A whole list: every page's items, and the resourceVersion the pages were read at (a watch starts there). */
export interface PodListOnNode<T> {
  items: T[];
  metadata: { resourceVersion?: string };
}

export function listPodsOnNode(kc: KubeConfig, clock: Clock, node: string): Promise<PodListOnNode<Pod>> {
  return listOnNode<Pod>(kc, clock, node, 'application/json');
}

/**
 * Only the metadata of the node's pods (name, UID, deletion time…), for a drain's polls while its pods
 * leave: a pod's metadata is a fifth of its JSON.
 */
export function listPodMetadataOnNode(
  kc: KubeConfig,
  clock: Clock,
  node: string,
): Promise<PodListOnNode<PodMetadata>> {
  return listOnNode<PodMetadata>(kc, clock, node, METADATA_LIST_ACCEPT);
}

async function listOnNode<T>(
  kc: KubeConfig,
  clock: Clock,
  node: string,
  accept: string,
): Promise<PodListOnNode<T>> {
  const items: T[] = [];
  let resourceVersion: string | undefined;
  let cont: string | undefined;
  do {
    const query = new URLSearchParams({ fieldSelector: `spec.nodeName=${node}`, limit: PAGE_LIMIT });
    if (cont) query.set('continue', cont);
    const page = await withRetries(clock, `list pods on node ${node}`, async () => {
      const res = await requestRaw(kc, 'GET', `/api/v1/pods?${query}`, { accept });
      if (res.status !== 200)
        throw Object.assign(new Error(`listing pods on node ${node} answered ${res.status}`), {
          statusCode: res.status,
          body: res.body,
        });
      return JSON.parse(res.body) as ListPage<T>;
    });
    items.push(...page.items);
    // Note: the later pages of a list are read at its first page's resourceVersion.
    resourceVersion ??= page.metadata?.resourceVersion;
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return { items, metadata: { resourceVersion } };
}
