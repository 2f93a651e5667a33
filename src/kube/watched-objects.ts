import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
} from '@kubernetes/client-node';
import type { Clock, Timer } from '../core/index.ts';
import { StreamWatch } from './stream-watch.ts';

/** How long after a broken watch it is listed and watched again. */
const RESTART_DELAY_MS = 1_000;

export interface WatchedObjectsSource<T extends KubernetesObject> {
  /** The collection's path, e.g. `/api/v1/nodes` or `/api/v1/pods`. */
  path: string;
  /** Lists the collection (with the same selector): what the cache starts from, and after a 410. */
  list: () => Promise<KubernetesListObject<T>>;
  /** Watches only what this field selector selects, e.g. `spec.nodeName=node-7`. */
  fieldSelector?: string;
}

type Waiter<T> = { until?: (obj: T | undefined) => boolean; wake: () => void };

/**
 * A collection of objects kept current by one list and watch (client-node's ListWatch, an informer, watching
 * through stream-watch.ts): the callers read it instead of each polling the API, and learn of a change the
 * moment it happens.
 *
 * While the watch is down (not yet listed, or broken and waiting to restart) it knows nothing: `live` is
 * false, `get` and `list` answer undefined, and callers fall back to reading the API themselves. A cache is
 * only ever a shortcut: it may lag the cluster by an event in flight, so whatever must not act on an old state
 * (a write, a decision that cannot be undone) reads the API or sends the write with the cached
 * resourceVersion as a precondition.
 */
export class WatchedObjects<T extends KubernetesObject> {
  private isLive = false;
  private stopped = false;
  private restart?: Timer;
  /** Waiters per namespace/name; '' holds those woken by a change to any object. */
  private readonly waiters = new Map<string, Array<Waiter<T>>>();
  private readonly informer: ListWatch<T>;

  private constructor(
    kc: KubeConfig,
    source: WatchedObjectsSource<T>,
    private readonly clock: Clock,
  ) {
    this.informer = new ListWatch(
      source.path,
      new StreamWatch(kc).asWatch(),
      source.list,
      false,
      undefined,
      source.fieldSelector,
    );
    this.informer.on('add', (obj) => this.seen(obj, obj));
    this.informer.on('update', (obj) => this.seen(obj, obj));
    this.informer.on('delete', (obj) => this.seen(obj, undefined));
    this.informer.on('error', () => this.broken());
  }

  /** Starts listing and watching; never throws (a failed start is retried, the callers read the API meanwhile). */
  static start<T extends KubernetesObject>(
    kc: KubeConfig,
    clock: Clock,
    source: WatchedObjectsSource<T>,
  ): WatchedObjects<T> {
    const watched = new WatchedObjects(kc, source, clock);
    watched.connect();
    return watched;
  }

  /** Whether the cache is listed and its watch up: only then do `get` and `list` answer. */
  get live(): boolean {
    return this.isLive;
  }

  /** Every object as last seen; undefined while the watch is down. */
  list(): readonly T[] | undefined {
    return this.isLive ? this.informer.list() : undefined;
  }

  /**
   * The object as last seen: undefined while the watch is down, and when it does not exist (tell them apart
   * with `live`).
   */
  get(name: string, namespace?: string): T | undefined {
    return this.isLive ? this.informer.get(name, namespace) : undefined;
  }

  /**
   * Resolves the next time the watch sees the object (every object when `name` is undefined) added, changed
   * or deleted (`until` then gets undefined), and `until`, when given, says it is what the caller waits for;
   * also when the watch comes up (it may already be so) and when it stops. Note: it waits for news, never answers from the cache: a caller that was just
   * told otherwise by the API knows more than a cache that may not have seen the change yet.
   */
  nextChange(namespace: string, name?: string, until?: (obj: T | undefined) => boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const key = name === undefined ? '' : `${namespace}/${name}`;
    return new Promise((wake) => {
      const list = this.waiters.get(key) ?? [];
      list.push({ until, wake });
      this.waiters.set(key, list);
    });
  }

  /** Ends the watch (its socket closes) and wakes every waiter. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.isLive = false;
    this.restart?.cancel();
    this.wakeAll();
    await this.informer.stop();
  }

  private wakeAll(): void {
    const all = [...this.waiters.values()].flat();
    this.waiters.clear();
    for (const waiter of all) waiter.wake();
  }

  private connect(): void {
    // Note: start() resolves once the list is in the cache and the watch request is answered; a list or
    // watch that fails calls the informer's error handler instead of rejecting, which schedules a restart.
    this.informer.start().then(
      () => {
        // IMPORTANT: a stop() while the watch request was on its way found no request to abort; abort it now,
        // or its socket stays open and keeps the process (a test) alive.
        if (this.stopped) void this.informer.stop();
        else if (!this.restart) {
          this.isLive = true;
          // The cache is complete again (listed, or watched from where it was): news for every waiter.
          this.wakeAll();
        }
      },
      () => this.broken(),
    );
  }

  private broken(): void {
    this.isLive = false;
    if (this.stopped || this.restart) return;
    this.restart = this.clock.setTimer(RESTART_DELAY_MS, () => {
      this.restart = undefined;
      if (!this.stopped) this.connect();
    });
  }

  private seen(obj: T, now: T | undefined): void {
    // Note: what a list brings is told once the cache is whole (connect wakes every waiter then).
    if (!this.isLive) return;
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    this.wake(key, now);
    this.wake('', now);
  }

  private wake(key: string, obj: T | undefined): void {
    const list = this.waiters.get(key);
    if (!list) return;
    const left = list.filter((waiter) => waiter.until && !waiter.until(obj));
    if (left.length > 0) this.waiters.set(key, left);
    else this.waiters.delete(key);
    for (const waiter of list) if (!left.includes(waiter)) waiter.wake();
  }
}
