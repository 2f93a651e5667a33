import { randomUUID } from 'node:crypto';
import type { Clock } from '../../core/index.ts';
import {
  alreadyExists,
  badRequest,
  conflict,
  type GroupResource,
  internalError,
  notFound,
  resourceExpired,
  STALE_OBJECT,
} from '../status.ts';
import { rfc3339 } from './deletion.ts';
import { copyJson, sameJson } from './json-value.ts';
import { lazyDraft } from './lazy-draft.ts';
import type { KubeObject, ResourceKey, StoreEvent, WatchEventType } from './types.ts';

/**
 * The sandbox's etcd: every object of every resource, one global resourceVersion counter, and a bounded
 * history of changes per resource from which watches resume (like the API server's watch cache).
 *
 * IMPORTANT: objects handed out are the stored ones. Callers never mutate them; they change objects through
 * `create`, `update`, `mutate` and `remove`, which copy, bump the resourceVersion and notify watchers.
 */
export interface ObjectStoreOptions {
  /** Changes kept per resource for watches to resume from; older resourceVersions get 410 Expired. */
  historySize?: number;
  newUid?: () => string;
}

export interface WatchOptions {
  namespace?: string;
  /** Deliver changes after this resourceVersion; undefined or 0 means "current state as ADDED, then changes". */
  fromResourceVersion?: number;
  filter?: (obj: KubeObject) => boolean;
  /**
   * Pods only: deliver only pods bound to this node (spec.nodeName), as `fieldSelector=spec.nodeName=X` does.
   * The store then tells this watch of changes to that node's pods alone, instead of asking its filter about
   * every pod in the cluster: a drain watches its node's pods, and a rehearsal runs hundreds of drains at once.
   */
  nodeName?: string;
}

export interface ListPageOptions {
  namespace?: string;
  filter?: (obj: KubeObject) => boolean;
  /** Start after this key ("namespace/name" or "name"). */
  after?: string;
  limit?: number;
}

export type WatchListener = (type: WatchEventType, obj: KubeObject) => void;
export type ChangeListener = (event: StoreEvent) => void;

/**
 * Where every write goes before anyone hears of it: the etcd persistence. A journal that has failed makes
 * every later write a 500, so no write is acknowledged that could not be kept.
 */
export interface StoreJournal {
  record(event: StoreEvent): void;
  /** Set once the journal cannot keep writes any more. */
  readonly failure: Error | undefined;
}

interface ResourceTable {
  gr: GroupResource;
  objects: Map<string, KubeObject>;
  history: StoreEvent[];
  /** Index of the oldest live entry of `history` (a ring that grows to historySize, then wraps). */
  historyStart: number;
  /** Keys in namespace/name order; dropped whenever an object is added or removed. */
  sorted?: string[];
  /** The resourceVersion below which history has been dropped. */
  compactedBefore: number;
  listeners: Set<ChangeListener>;
  /** Watches of one node's pods (WatchOptions.nodeName), by node: told only of changes to pods on their node. */
  nodeListeners: Map<string, Set<ChangeListener>>;
  /**
   * Writes put off until someone looks (see `beforeAccess`), made before any read or write of the resource;
   * told the namespace looked at, undefined for all of them.
   */
  catchUp?: (namespace: string | undefined) => void;
}

export class ObjectStore {
  private rv = 1;
  private writes = 0;
  private folded = 0;
  private readonly tables = new Map<ResourceKey, ResourceTable>();
  private readonly anyListeners = new Set<ChangeListener>();
  private readonly historySize: number;
  private readonly newUid: () => string;
  /** pods by spec.nodeName: the kubelets, the scheduler and every drain ask for this. */
  private readonly podsByNode = new Map<string, Map<string, KubeObject>>();
  /** No history below this resourceVersion, in any resource: where the store was loaded or rebased. */
  private historyFloor = 0;
  private journal?: StoreJournal;

  constructor(
    private readonly clock: Clock,
    options: ObjectStoreOptions = {},
  ) {
    this.historySize = options.historySize ?? 20_000;
    this.newUid = options.newUid ?? randomUUID;
  }

  /** The newest resourceVersion written, as lists report it. */
  get resourceVersion(): number {
    return this.rv;
  }

  get(resource: ResourceKey, namespace: string | undefined, name: string): KubeObject | undefined {
    const table = this.table(resource);
    table.catchUp?.(namespace);
    return table.objects.get(objectKey(namespace, name));
  }

  /** Like `get`, but a missing object is a 404 Status error. */
  mustGet(resource: ResourceKey, namespace: string | undefined, name: string): KubeObject {
    const obj = this.get(resource, namespace, name);
    if (!obj) throw notFound(this.table(resource).gr, name);
    return obj;
  }

  /** Objects of a resource in key order, so pages with `continue` are stable. */
  list(resource: ResourceKey, namespace?: string, filter?: (obj: KubeObject) => boolean): KubeObject[] {
    return this.listPage(resource, { namespace, filter }).items;
  }

  /**
   * One page of a sorted list: objects after the key `after` (a previous page's `nextKey`), at most `limit`
   * of them. `nextKey` is set when more matching objects may follow.
   */
  listPage(resource: ResourceKey, page: ListPageOptions): { items: KubeObject[]; nextKey?: string } {
    const table = this.table(resource);
    table.catchUp?.(page.namespace);
    const keys = this.sortedKeys(table);
    let i = 0;
    if (page.after !== undefined) {
      // Binary search for the first key greater than `after`.
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (keys[mid]! <= page.after) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    const items: KubeObject[] = [];
    const limit = page.limit && page.limit > 0 ? page.limit : Number.POSITIVE_INFINITY;
    for (; i < keys.length; i++) {
      const obj = table.objects.get(keys[i]!)!;
      if (page.namespace !== undefined && obj.metadata.namespace !== page.namespace) continue;
      if (page.filter && !page.filter(obj)) continue;
      if (items.length >= limit) return { items, nextKey: lastKey(items) };
      items.push(obj);
    }
    return { items };
  }

  count(resource: ResourceKey): number {
    const table = this.table(resource);
    table.catchUp?.(undefined);
    return table.objects.size;
  }

  /** Pods bound to a node, without scanning every pod. */
  podsOnNode(nodeName: string): KubeObject[] {
    return [...(this.podsByNode.get(nodeName)?.values() ?? [])];
  }

  /** Pods bound to a node with their keys, in key order (the order of `list`, which `continue` relies on). */
  podsOnNodeByKey(nodeName: string): Array<[key: string, pod: KubeObject]> {
    const pods = [...(this.podsByNode.get(nodeName)?.entries() ?? [])];
    return pods.sort((a, b) => compareKeys(a[0], b[0]));
  }

  /**
   * Stores a new object: fills uid, creationTimestamp, generation and resourceVersion, and resolves
   * `generateName`. A name already taken is 409 AlreadyExists.
   */
  create(resource: ResourceKey, input: KubeObject): KubeObject {
    return this.createOwned(resource, copyJson(input));
  }

  /**
   * Like `create`, but stores `obj` itself instead of a copy: for bulk creation (150,000 pre-bound pods)
   * where copying costs seconds and memory.
   * IMPORTANT: the caller hands `obj` over and must never change it, nor any part of it, afterwards. Parts
   * may be shared with other stored objects (pods of one workload sharing their container list), which is
   * safe only because stored objects are never changed in place; `metadata` itself must be the object's own.
   */
  createOwned(resource: ResourceKey, obj: KubeObject): KubeObject {
    const table = this.table(resource);
    table.catchUp?.(obj.metadata.namespace);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName)
      meta.name = this.generateName(table, meta.namespace, meta.generateName);
    if (!meta.name) throw badRequest('name or generateName is required');
    const key = objectKey(meta.namespace, meta.name);
    if (table.objects.has(key)) throw alreadyExists(table.gr, meta.name);
    meta.uid = this.newUid();
    meta.creationTimestamp = rfc3339(this.clock.now());
    meta.generation = 1;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    return this.write(table, resource, 'ADDED', key, obj, undefined);
  }

  /**
   * Replaces a stored object. A non-empty `metadata.resourceVersion` that is not the stored one is a
   * 409 Conflict; an empty one is an unconditional update. Identity fields (uid, creationTimestamp) are
   * kept from the stored object, and `generation` is bumped when anything outside metadata and status changed.
   * Note: like etcd, the store trusts its caller with every other field (deletionTimestamp included); the API
   * layer is what stops clients from writing system fields.
   */
  update(resource: ResourceKey, input: KubeObject): KubeObject {
    return this.replace(resource, input, true);
  }

  /** `update`, copying `input` unless the caller hands it over (`copy` false). */
  private replace(resource: ResourceKey, input: KubeObject, copy: boolean): KubeObject {
    const table = this.table(resource);
    table.catchUp?.(input.metadata.namespace);
    const meta = input.metadata;
    const key = objectKey(meta.namespace, meta.name ?? '');
    const current = table.objects.get(key);
    if (!current) throw notFound(table.gr, meta.name ?? '');
    if (meta.resourceVersion && meta.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(table.gr, meta.name ?? '', STALE_OBJECT);
    }
    const obj = copy ? copyJson(input) : input;
    obj.metadata.uid = current.metadata.uid;
    obj.metadata.creationTimestamp = current.metadata.creationTimestamp;
    obj.metadata.generation = (current.metadata.generation ?? 1) + (specChanged(current, obj) ? 1 : 0);
    return this.write(table, resource, 'MODIFIED', key, obj, current);
  }

  /**
   * Read-modify-write for the simulated actors: `change` edits a copy; returning `false` means "nothing to
   * do" and writes nothing. Returns the stored result, or undefined when the object does not exist.
   * The copy is made field by field as `change` reaches for them (see lazyDraft); `change` must not keep
   * the draft, nor any part of it, once it returns.
   */
  mutate(
    resource: ResourceKey,
    namespace: string | undefined,
    name: string,
    change: (draft: KubeObject) => unknown,
  ): KubeObject | undefined {
    const current = this.get(resource, namespace, name);
    if (!current) return undefined;
    const { draft, settle } = lazyDraft(current);
    if (change(draft) === false) return current;
    const next = settle();
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    // Note: what the change touched is a private copy, the rest is shared: stored as it is.
    return this.replace(resource, next, false);
  }

  /** Removes an object for good (what etcd does once finalizers and grace periods are over). */
  remove(resource: ResourceKey, namespace: string | undefined, name: string): KubeObject | undefined {
    const table = this.table(resource);
    table.catchUp?.(namespace);
    const key = objectKey(namespace, name);
    const current = table.objects.get(key);
    if (!current) return undefined;
    // Note: the DELETED object differs from the stored one only in its resourceVersion, so it shares every part
    // but its metadata with it (stored objects are never changed in place).
    const obj = { ...current, metadata: { ...current.metadata } };
    return this.write(table, resource, 'DELETED', key, obj, current);
  }

  /**
   * Streams changes of one resource to `listener`. Without a resourceVersion the current objects come first
   * as ADDED; with one, the changes after it are replayed from history. A resourceVersion older than the
   * history is a 410 Expired error, which the API layer turns into an ERROR event as a real server does.
   */
  watch(resource: ResourceKey, options: WatchOptions, listener: WatchListener): () => void {
    const table = this.table(resource);
    table.catchUp?.(options.namespace);
    const nodeName = resource === 'pods' ? options.nodeName : undefined;
    const matches = (obj: KubeObject) =>
      (options.namespace === undefined || obj.metadata.namespace === options.namespace) &&
      (nodeName === undefined || obj.spec?.nodeName === nodeName) &&
      (!options.filter || options.filter(obj));
    const from = options.fromResourceVersion ?? 0;
    const oldest = Math.max(table.compactedBefore, this.historyFloor);
    if (from > 0 && from < oldest) throw resourceExpired(from, oldest);
    if (from === 0) {
      const current =
        nodeName === undefined ? this.list(resource) : this.podsOnNodeByKey(nodeName).map(([, pod]) => pod);
      for (const obj of current) if (matches(obj)) listener('ADDED', obj);
    } else {
      for (const event of this.historyAfter(table, from)) deliver(event);
    }
    function deliver(event: StoreEvent) {
      const now = matches(event.object);
      const before = event.previous !== undefined && matches(event.previous);
      // Note: a filtered watch sees an object that leaves its filter as DELETED and one that enters it as
      // ADDED, as the API server's watch cache does for label and field selectors.
      if (event.type === 'MODIFIED') {
        if (now && before) listener('MODIFIED', event.object);
        else if (now) listener('ADDED', event.object);
        else if (before) listener('DELETED', event.object);
      } else if (now) {
        listener(event.type, event.object);
      }
    }
    if (nodeName === undefined) {
      table.listeners.add(deliver);
      return () => table.listeners.delete(deliver);
    }
    let listeners = table.nodeListeners.get(nodeName);
    if (!listeners) {
      listeners = new Set();
      table.nodeListeners.set(nodeName, listeners);
    }
    listeners.add(deliver);
    return () => {
      const set = table.nodeListeners.get(nodeName);
      set?.delete(deliver);
      if (set?.size === 0) table.nodeListeners.delete(nodeName);
    };
  }

  /**
   * Lets a simulated actor put off writes to `resource` that nobody would see until someone looks: `catchUp`
   * is called before every read, write or watch of the resource, with the namespace it looks at (undefined:
   * all), and must make the writes it put off in that namespace, so
   * whatever a client reads is what it would have read had each write been made on time; only
   * resourceVersions differ, and a watch resuming from an older one sees the writes put off as one change
   * per object. The actor must write at once while the resource is watched (`isWatched`): a watcher is told
   * of each change as it happens. Returns a function that removes the hook.
   * Why: a node's heartbeat Lease is renewed every 10 s (node-leases.ts); 5,000 nodes idle for an hour of
   * clock is 1.8 million writes that nothing reads.
   */
  beforeAccess(resource: ResourceKey, catchUp: (namespace: string | undefined) => void): () => void {
    const table = this.table(resource);
    table.catchUp = catchUp;
    return () => {
      if (table.catchUp === catchUp) table.catchUp = undefined;
    };
  }

  /** Whether any watch (a client's or the simulation's) is open on `resource`. */
  isWatched(resource: ResourceKey): boolean {
    const table = this.table(resource);
    return table.listeners.size > 0 || table.nodeListeners.size > 0;
  }

  /**
   * Writes an actor folded into fewer (see `beforeAccess`): they count as writes the cluster took, for the
   * simulated etcd's commit metrics (`writeCount`).
   */
  countFoldedWrites(count: number): void {
    this.folded += count;
  }

  /** Writes taken so far, the folded ones included: what the simulated etcd commits. */
  get writeCount(): number {
    return this.writes + this.folded;
  }

  /** Every change to every resource, after it is stored: how the simulated controllers notice work. */
  onChange(listener: ChangeListener): () => void {
    this.anyListeners.add(listener);
    return () => this.anyListeners.delete(listener);
  }

  resources(): ResourceKey[] {
    return [...this.tables.keys()];
  }

  /**
   * Stores an object exactly as it is, resourceVersion included, with no event and no history: how objects
   * read back from etcd come in. The caller hands `obj` over, as for `createOwned`.
   */
  loadOwned(resource: ResourceKey, obj: KubeObject): void {
    const table = this.table(resource);
    const key = objectKey(obj.metadata.namespace, obj.metadata.name ?? '');
    const previous = table.objects.get(key);
    table.objects.set(key, obj);
    table.sorted = undefined;
    if (resource === 'pods') this.indexPod(key, obj, previous, false);
  }

  /**
   * Makes `revision` the newest resourceVersion and forgets every change before it: a watch from an older
   * resourceVersion gets 410 Expired and must list again. Used once the objects carry etcd's revisions
   * (loaded, or seeded in batches), which the history's events no longer match.
   */
  rebase(revision: number): void {
    this.rv = revision;
    this.historyFloor = revision;
    for (const table of this.tables.values()) {
      table.history = [];
      table.historyStart = 0;
      table.compactedBefore = revision;
    }
  }

  /** From now on every write is handed to `journal` first (see StoreJournal). */
  setJournal(journal: StoreJournal): void {
    this.journal = journal;
  }

  private write(
    table: ResourceTable,
    resource: ResourceKey,
    type: WatchEventType,
    key: string,
    obj: KubeObject,
    previous: KubeObject | undefined,
  ): KubeObject {
    const failure = this.journal?.failure;
    if (failure)
      throw internalError(`the sandbox's storage failed, so it takes no more writes: ${failure.message}`);
    this.rv += 1;
    this.writes += 1;
    obj.metadata.resourceVersion = String(this.rv);
    if (type === 'DELETED') table.objects.delete(key);
    else table.objects.set(key, obj);
    if (type !== 'MODIFIED') table.sorted = undefined;
    if (resource === 'pods') this.indexPod(key, obj, previous, type === 'DELETED');
    const event: StoreEvent = { type, resource, object: obj, previous, resourceVersion: this.rv };
    this.journal?.record(event);
    this.remember(table, event);
    for (const listener of table.listeners) listener(event);
    if (table.nodeListeners.size > 0) this.tellNodeListeners(table, event);
    for (const listener of this.anyListeners) listener(event);
    return obj;
  }

  /** A change to a pod concerns the watches of the node it is bound to, and of the node it left. */
  private tellNodeListeners(table: ResourceTable, event: StoreEvent): void {
    const after: string | undefined = event.object.spec?.nodeName;
    const before: string | undefined = event.previous?.spec?.nodeName;
    if (after !== undefined) for (const listener of table.nodeListeners.get(after) ?? []) listener(event);
    if (before !== undefined && before !== after)
      for (const listener of table.nodeListeners.get(before) ?? []) listener(event);
  }

  private remember(table: ResourceTable, event: StoreEvent): void {
    if (table.history.length < this.historySize) {
      table.history.push(event);
      return;
    }
    const dropped = table.history[table.historyStart]!;
    table.compactedBefore = dropped.resourceVersion;
    table.history[table.historyStart] = event;
    table.historyStart = (table.historyStart + 1) % this.historySize;
  }

  /**
   * The remembered changes after `rv`, oldest first.
   * Note: the ring holds resourceVersions in increasing order from `historyStart`, so the first change after
   * `rv` is found by binary search: every watch resumes from a recent resourceVersion, and scanning the whole
   * history (20,000 changes) per watch was a rehearsal's most expensive store call.
   */
  private *historyAfter(table: ResourceTable, rv: number): Generator<StoreEvent> {
    const history = table.history;
    const n = history.length;
    const at = (i: number) => history[(table.historyStart + i) % n]!;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (at(mid).resourceVersion <= rv) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < n; i++) yield at(i);
  }

  private indexPod(key: string, obj: KubeObject, previous: KubeObject | undefined, deleted: boolean): void {
    const before: string | undefined = previous?.spec?.nodeName;
    const after: string | undefined = deleted ? undefined : obj.spec?.nodeName;
    if (before && before !== after) this.podsByNode.get(before)?.delete(key);
    if (after) {
      let pods = this.podsByNode.get(after);
      if (!pods) {
        pods = new Map();
        this.podsByNode.set(after, pods);
      }
      pods.set(key, obj);
    }
  }

  private generateName(table: ResourceTable, namespace: string | undefined, prefix: string): string {
    const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
    for (;;) {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += alphabet[Math.floor(Math.random() * alphabet.length)];
      const name = prefix + suffix;
      if (!table.objects.has(objectKey(namespace, name))) return name;
    }
  }

  private sortedKeys(table: ResourceTable): string[] {
    table.sorted ??= [...table.objects.keys()].sort(compareKeys);
    return table.sorted;
  }

  private table(resource: ResourceKey): ResourceTable {
    let table = this.tables.get(resource);
    if (!table) {
      const slash = resource.indexOf('/');
      const gr =
        slash < 0
          ? { group: '', resource }
          : { group: resource.slice(0, slash), resource: resource.slice(slash + 1) };
      table = {
        gr,
        objects: new Map(),
        history: [],
        historyStart: 0,
        compactedBefore: 0,
        listeners: new Set(),
        nodeListeners: new Map(),
      };
      this.tables.set(resource, table);
    }
    return table;
  }
}

function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** The key of an object as the store indexes it: "namespace/name", or "name" for cluster-scoped objects. */
export function keyOf(obj: KubeObject): string {
  return objectKey(obj.metadata.namespace, obj.metadata.name ?? '');
}

function lastKey(items: KubeObject[]): string | undefined {
  const last = items[items.length - 1];
  return last ? keyOf(last) : undefined;
}

// Note: keys compare as plain strings. That is not strictly namespace-then-name ("a-b/x" sorts before "a/x"),
// but any fixed total order keeps `continue` pages stable, and plain comparison is the cheapest.
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether anything outside metadata and status differs: the rule for bumping metadata.generation. */
function specChanged(before: KubeObject, after: KubeObject): boolean {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of keys) {
    if (key === 'metadata' || key === 'status' || key === 'apiVersion' || key === 'kind') continue;
    if (!sameJson(before[key], after[key])) return true;
  }
  return false;
}
