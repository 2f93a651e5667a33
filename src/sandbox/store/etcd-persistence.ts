/**
 * The sandbox's objects kept in a real etcd, under the keys kube-apiserver uses (registry-keys.ts), so a
 * snapshot of that etcd is a backup of the sandbox cluster and restoring it brings the cluster back.
 *
 * The ObjectStore stays the sandbox's memory and keeps its synchronous API (every actor and handler relies
 * on it); etcd follows it:
 * - Start on an etcd holding /registry keys: every object is loaded with its key's mod_revision as
 *   resourceVersion, and the store's counter starts at etcd's revision (`load`).
 * - Start on an empty etcd: the scenario is built in memory, then written in batched transactions, several
 *   at once; each object then carries the revision of the transaction that wrote it, which is its key's
 *   mod_revision (`seed`). One transaction per object would take minutes for 150,000 pods.
 * - Afterwards every store write is one transaction, sent in the store's order, one at a time, so the
 *   write of resourceVersion N lands at etcd revision N (`record`). Each transaction also checks the key's
 *   mod_revision is the one the store last gave it, as kube-apiserver's optimistic updates do: a key
 *   changed behind the sandbox's back, or a revision that does not match (another writer), fails the
 *   persistence instead of drifting.
 *
 * Note: etcd lags the store by the writes queued (`pendingWrites`), never more: it always holds a prefix of
 * the store's history, so a snapshot taken at any time is a consistent cluster. In a process whose virtual
 * clock moves only when no HTTP request is open (idle-time.ts), an open etcd request holds the clock, so
 * simulated time waits for etcd. Under a wall or scaled clock nothing can make the simulation wait for a
 * synchronous write; the queue then grows while etcd is slower than the simulation, and `stop` waits for it.
 *
 * IMPORTANT: any etcd error (unreachable, refused, too large, a compare that fails) is final: `failure` is
 * set, listeners hear of it, every later store write is a 500, and `flush` rejects. Nothing is retried,
 * because a retried transaction may already have been applied, and nothing is dropped silently.
 */
import type { EtcdClient, TxnCompare, TxnOp } from '../../etcd/index.ts';
import type { ObjectStore, StoreJournal } from './object-store.ts';
import { parseRegistryKey, REGISTRY_ROOT, registryKeyOf } from './registry-keys.ts';
import type { KubeObject, StoreEvent } from './types.ts';

export interface EtcdPersistenceOptions {
  client: EtcdClient;
  /**
   * Writes per seed transaction. Note: etcd refuses more than its --max-txn-ops (128 by default), counting
   * the compares and the writes separately.
   */
  seedBatchOps?: number;
  /** Bytes of object JSON per seed transaction: base64 makes it 4/3 larger, under --max-request-bytes (1.5 MiB). */
  seedBatchBytes?: number;
  /** Seed transactions in flight at once: etcd commits concurrent ones together (one disk sync). */
  seedConcurrency?: number;
  /** Keys per page when loading. */
  loadPageSize?: number;
  /** Compact etcd's history to the last this many revisions, every this many writes (0: never). */
  compactEvery?: number;
  /**
   * Writes that may wait for etcd before the persistence fails. Each holds its object (a few KiB), so an
   * etcd that cannot keep up would otherwise take the process's memory; failing says so instead.
   */
  maxPendingWrites?: number;
}

export interface LoadResult {
  objects: number;
  /** etcd's revision the objects were read at: the store's resourceVersion from now on. */
  revision: number;
}

/** What the admin summary says about the etcd behind the sandbox. */
export interface EtcdPersistenceStatus {
  etcd: string;
  /** The newest revision of the sandbox's that etcd holds. */
  persistedRevision: number;
  /** Store writes not in etcd yet. */
  pendingWrites: number;
  /** Why etcd takes no more writes, once it failed. */
  failure?: string;
}

export interface SeedResult {
  objects: number;
  transactions: number;
  revision: number;
}

/** The end of the range of keys starting with "/registry/" ('/' + 1 is '0'). */
const REGISTRY_END = '/registry0';

export class EtcdPersistence implements StoreJournal {
  readonly endpoint: string;
  private readonly client: EtcdClient;
  private readonly seedBatchOps: number;
  private readonly seedBatchBytes: number;
  private readonly seedConcurrency: number;
  private readonly loadPageSize: number;
  private readonly compactEvery: number;
  private readonly maxPendingWrites: number;
  /** Store writes not in etcd yet, oldest first; `head` is the next to send. */
  private queue: (StoreEvent | undefined)[] = [];
  private head = 0;
  private draining = false;
  private failed?: Error;
  private persisted = 0;
  private compactedAt = 0;
  private readonly failureListeners = new Set<(err: Error) => void>();
  /** The resourceVersion of the newest write recorded. */
  private recorded = 0;
  private flushWaiters: { revision: number; resolve: () => void; reject: (err: Error) => void }[] = [];

  constructor(options: EtcdPersistenceOptions) {
    this.client = options.client;
    this.endpoint = options.client.endpoint;
    this.seedBatchOps = options.seedBatchOps ?? 128;
    this.seedBatchBytes = options.seedBatchBytes ?? 900 * 1024;
    this.seedConcurrency = options.seedConcurrency ?? 4;
    this.loadPageSize = options.loadPageSize ?? 5_000;
    this.compactEvery = options.compactEvery ?? 50_000;
    this.maxPendingWrites = options.maxPendingWrites ?? 100_000;
  }

  get failure(): Error | undefined {
    return this.failed;
  }

  /** The newest revision of the sandbox's that etcd holds. */
  get persistedRevision(): number {
    return this.persisted;
  }

  /** Store writes queued for etcd. */
  get pendingWrites(): number {
    return this.queue.length - this.head;
  }

  status(): EtcdPersistenceStatus {
    return {
      etcd: this.endpoint,
      persistedRevision: this.persisted,
      pendingWrites: this.pendingWrites,
      ...(this.failed ? { failure: this.failed.message } : {}),
    };
  }

  /**
   * Reads every /registry key into `store` at one revision, each object with its key's mod_revision as
   * resourceVersion. `objects` 0 means etcd holds no cluster yet: build one and `seed` it.
   */
  async load(store: ObjectStore): Promise<LoadResult> {
    let revision = 0;
    let objects = 0;
    let from = REGISTRY_ROOT;
    for (;;) {
      // Note: every page after the first reads at the first page's revision: one consistent cluster.
      const page = await this.client.range(from, {
        rangeEnd: REGISTRY_END,
        limit: this.loadPageSize,
        ...(revision ? { revision } : {}),
      });
      if (!revision) revision = page.revision;
      for (const kv of page.kvs) {
        const { resource, object } = this.decode(kv.key, kv.value);
        object.metadata.resourceVersion = String(kv.modRevision);
        store.loadOwned(resource, object);
        objects++;
      }
      const last = page.kvs[page.kvs.length - 1];
      if (!page.more || !last) break;
      from = `${last.key}\0`;
    }
    if (objects > 0) store.rebase(revision);
    this.persisted = revision;
    this.compactedAt = revision;
    return { objects, revision };
  }

  /**
   * Writes every object of `store` (a freshly built cluster, which no client has seen yet) to an etcd that
   * holds no /registry key, in batched transactions, and gives each object the revision that wrote it.
   */
  async seed(store: ObjectStore): Promise<SeedResult> {
    const before = this.persisted;
    const batches = this.seedBatches(store);
    let transactions = 0;
    let revision = before;
    let objects = 0;
    let stopped = false;
    const worker = async () => {
      // Note: a failed batch stops the other workers before their next one; the start-up fails anyway.
      for (let next = batches.next(); !next.done && !stopped; next = batches.next()) {
        const batch = next.value;
        const result = await this.client.txn(
          batch.map((b) => ({ key: b.key, absent: true })),
          batch.map((b) => ({ put: b.key, value: b.json })),
          `seed ${batch.length} objects from ${batch[0]!.key}`,
        );
        if (!result.succeeded)
          throw new Error(
            `etcd ${this.endpoint}: seed the sandbox: a key of the batch from ${batch[0]!.key} exists already; another client writes /registry keys to this etcd`,
          );
        // IMPORTANT: changed in place, which is safe only because nothing outside the store has seen these
        // objects yet (the API server does not listen and the actors have not started).
        for (const b of batch) b.object.metadata.resourceVersion = String(result.revision);
        transactions++;
        objects += batch.length;
        revision = Math.max(revision, result.revision);
      }
    };
    await Promise.all(
      Array.from({ length: this.seedConcurrency }, () =>
        worker().catch((err) => {
          stopped = true;
          throw err;
        }),
      ),
    );
    // Each transaction that wrote made exactly one revision; more means another writer got in between.
    if (revision - before !== transactions)
      throw new Error(
        `etcd ${this.endpoint}: seed the sandbox: the revision moved from ${before} to ${revision} over ${transactions} transactions; another client writes to this etcd, and the sandbox must be its only writer`,
      );
    store.rebase(revision);
    this.persisted = revision;
    this.compactedAt = revision;
    return { objects, transactions, revision };
  }

  /** From now on every write of `store` goes to etcd, in order. */
  attach(store: ObjectStore): void {
    if (store.resourceVersion !== this.persisted)
      throw new Error(
        `the store is at resourceVersion ${store.resourceVersion} but etcd at revision ${this.persisted}: load or seed first`,
      );
    store.setJournal(this);
  }

  record(event: StoreEvent): void {
    this.queue.push(event);
    this.recorded = event.resourceVersion;
    if (this.pendingWrites > this.maxPendingWrites)
      this.fail(
        new Error(
          `etcd ${this.endpoint}: ${this.pendingWrites} writes wait for etcd, which commits them one at a time more slowly than the simulation makes them; run the sandbox slower (a lower --time-scale) or give etcd a faster disk`,
        ),
      );
    else if (!this.draining) void this.drain();
  }

  /**
   * Resolves once every write recorded so far is in etcd (later ones may still be queued: a simulation
   * that keeps writing never empties the queue); rejects with the failure if there is one.
   */
  flush(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const revision = this.recorded;
    if (this.persisted >= revision) return Promise.resolve();
    return new Promise((resolve, reject) => this.flushWaiters.push({ revision, resolve, reject }));
  }

  onFailure(listener: (err: Error) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.head < this.queue.length && !this.failed) {
        const event = this.queue[this.head]!;
        await this.write(event);
        this.queue[this.head++] = undefined;
        if (this.flushWaiters.length > 0) this.settleFlushes();
        if (this.head >= 4096 && this.head * 2 >= this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        if (this.compactEvery > 0 && this.persisted - this.compactedAt >= 2 * this.compactEvery) {
          const to = this.persisted - this.compactEvery;
          await this.client.compact(to);
          this.compactedAt = to;
        }
      }
    } catch (err) {
      this.fail(err as Error);
    } finally {
      this.draining = false;
    }
    this.settleFlushes();
  }

  private settleFlushes(): void {
    const waiting: typeof this.flushWaiters = [];
    for (const w of this.flushWaiters) {
      if (this.failed) w.reject(this.failed);
      else if (this.persisted >= w.revision) w.resolve();
      else waiting.push(w);
    }
    this.flushWaiters = waiting;
  }

  private async write(event: StoreEvent): Promise<void> {
    const key = registryKeyOf(event.resource, event.object);
    const previous = event.previous?.metadata.resourceVersion;
    const compare: TxnCompare =
      previous === undefined ? { key, absent: true } : { key, modRevision: Number(previous) };
    const op: TxnOp =
      event.type === 'DELETED' ? { delete: key } : { put: key, value: storedJson(event.object) };
    const verb = event.type === 'DELETED' ? 'delete' : 'write';
    const result = await this.client.txn(
      [compare],
      [op],
      `${verb} ${key} (resourceVersion ${event.resourceVersion})`,
    );
    if (!result.succeeded)
      throw new Error(
        `etcd ${this.endpoint}: ${verb} ${key}: the key is not as the sandbox left it (${previous === undefined ? 'it exists' : `last written at revision ${previous}`}); another client changed it`,
      );
    if (result.revision !== event.resourceVersion)
      throw new Error(
        `etcd ${this.endpoint}: ${verb} ${key}: etcd made it revision ${result.revision}, the sandbox resourceVersion ${event.resourceVersion}; another client writes to this etcd, and the sandbox must be its only writer`,
      );
    this.persisted = result.revision;
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = new Error(
      `${err.message} (etcd holds the sandbox's writes up to revision ${this.persisted}; ${this.pendingWrites} later ones are not kept)`,
    );
    for (const listener of this.failureListeners) listener(this.failed);
    this.settleFlushes();
  }

  /** Batches of at most seedBatchOps objects and about seedBatchBytes of JSON (one bigger object alone). */
  private *seedBatches(store: ObjectStore): Generator<{ key: string; json: string; object: KubeObject }[]> {
    let batch: { key: string; json: string; object: KubeObject }[] = [];
    let bytes = 0;
    for (const resource of store.resources())
      for (const object of store.list(resource)) {
        const json = storedJson(object);
        if (
          batch.length > 0 &&
          (batch.length >= this.seedBatchOps || bytes + json.length > this.seedBatchBytes)
        ) {
          yield batch;
          batch = [];
          bytes = 0;
        }
        batch.push({ key: registryKeyOf(resource, object), json, object });
        bytes += json.length;
      }
    if (batch.length > 0) yield batch;
  }

  private decode(key: string, value: string): { resource: string; object: KubeObject } {
    const parsed = parseRegistryKey(key);
    const where = `etcd ${this.endpoint}: load ${key}`;
    if (!parsed) throw new Error(`${where}: not a key of the form /registry/<resource>/[<namespace>/]<name>`);
    let object: KubeObject;
    try {
      object = JSON.parse(value);
    } catch {
      // kube-apiserver writes protobuf, which starts with "k8s\0": the sandbox reads only JSON.
      const hint = value.startsWith('k8s\0') ? ' (protobuf, as kube-apiserver writes it)' : '';
      throw new Error(
        `${where}: the value is not JSON${hint}; the sandbox loads only objects it stored itself`,
      );
    }
    if (typeof object !== 'object' || object === null || typeof object.metadata !== 'object')
      throw new Error(`${where}: the value is not a Kubernetes object`);
    if (object.metadata.name !== parsed.name || (object.metadata.namespace ?? undefined) !== parsed.namespace)
      throw new Error(
        `${where}: the object inside is ${object.metadata.namespace ?? ''}/${object.metadata.name}`,
      );
    return { resource: parsed.resource, object };
  }
}

/**
 * The JSON kept in etcd. Note: without resourceVersion, as kube-apiserver stores objects: the key's
 * mod_revision is the object's resourceVersion, and a seeded object learns its revision only after the write.
 */
function storedJson(object: KubeObject): string {
  return JSON.stringify({ ...object, metadata: { ...object.metadata, resourceVersion: undefined } });
}
