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
import { requestText } from './client.ts';
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

/**
 * `memo`: reads of the same nodes to parse less (see PodListMemo); the pods it gives are then shared with
 * earlier and later reads, so callers passing one must not modify them.
 */
export function listPodsOnNode(
  kc: KubeConfig,
  clock: Clock,
  node: string,
  memo?: PodListMemo,
): Promise<PodListOnNode<Pod>> {
  return listOnNode<Pod>(kc, clock, node, 'application/json', memo);
}

/**
 * The last list of each of a few nodes' pods, as the API server's text and parsed: a list whose items are the
 * same text as that node's last one is not parsed again. Note: admission reads the pods of the nodes at the
 * head of a wave for every choice, and between two choices they mostly stay as they were (three reads in four
 * in a rehearsal of 300 nodes); parsing them was most of a read's CPU on this side.
 * Exact: the same text parses to the same objects. Only a list that fits one page is kept, and only while
 * its items come last in the answer, as an API server writes a list (kind, apiVersion, metadata, items), so
 * that the text compared holds the items alone and the list's own metadata (a resourceVersion that moves with
 * every change in the cluster) is parsed on its own.
 */
export class PodListMemo {
  private readonly last = new Map<string, { items: string; parsed: unknown[] }>();

  /** `nodes`: how many nodes' lists are kept, the least recently read dropped first. */
  constructor(private readonly nodes = 64) {}

  parse<T>(node: string, body: string): ListPage<T> {
    // The list's own `"items":` is the first: nothing before it (kind, apiVersion, metadata) holds that text.
    const at = body.indexOf(ITEMS);
    if (at < 0 || !body.endsWith(']}')) return JSON.parse(body) as ListPage<T>;
    const items = body.slice(at + ITEMS.length, -1);
    let page: ListPage<T>;
    try {
      page = JSON.parse(`${body.slice(0, at)}${ITEMS}[]}`) as ListPage<T>;
      if (page.metadata?.continue) return JSON.parse(body) as ListPage<T>;
      const kept = this.last.get(node);
      this.last.delete(node);
      page.items = kept?.items === items ? (kept.parsed as T[]) : (JSON.parse(items) as T[]);
    } catch {
      // Not laid out as expected after all (something follows the items): as it is.
      return JSON.parse(body) as ListPage<T>;
    }
    this.last.set(node, { items, parsed: page.items });
    if (this.last.size > this.nodes) this.last.delete(this.last.keys().next().value!);
    return page;
  }
}

const ITEMS = '"items":';

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
  memo?: PodListMemo,
): Promise<PodListOnNode<T>> {
  const items: T[] = [];
  let resourceVersion: string | undefined;
  let cont: string | undefined;
  do {
    const query = new URLSearchParams({ fieldSelector: `spec.nodeName=${node}`, limit: PAGE_LIMIT });
    if (cont) query.set('continue', cont);
    const page = await withRetries(clock, `list pods on node ${node}`, async () => {
      const body = await requestText(kc, 'GET', `/api/v1/pods?${query}`, { accept });
      return memo && !cont ? memo.parse<T>(node, body) : (JSON.parse(body) as ListPage<T>);
    });
    items.push(...page.items);
    // Note: the later pages of a list are read at its first page's resourceVersion.
    resourceVersion ??= page.metadata?.resourceVersion;
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return { items, metadata: { resourceVersion } };
}
