import {
  type Informer,
  type KubeConfig,
  makeInformer,
  type ObjectCache,
  PolicyV1Api,
  type V1PodDisruptionBudget,
} from '@kubernetes/client-node';
import type { Clock, Timer } from '../core/index.ts';

/** How long after a broken watch it is listed and watched again. */
const RESTART_DELAY_MS = 1_000;

/**
 * Every PodDisruptionBudget of the cluster, kept current by one watch (an informer): the drains of a flow
 * learn the moment a budget allows a disruption again, instead of each polling it, and admission reads
 * the budgets without a list per choice.
 *
 * While the watch is down (not yet listed, or broken and waiting to restart) it knows nothing: `budgets()`
 * and `allows()` answer undefined and callers fall back to reading the API themselves. A watch is only
 * ever a shortcut here; the Eviction API stays the final word on every disruption.
 */
export class BudgetWatch {
  private live = false;
  private stopped = false;
  private restart?: Timer;
  private readonly waiters = new Map<string, Array<() => void>>();
  private readonly informer: Informer<V1PodDisruptionBudget> & ObjectCache<V1PodDisruptionBudget>;

  private constructor(
    kc: KubeConfig,
    private readonly clock: Clock,
  ) {
    const policy = kc.makeApiClient(PolicyV1Api);
    this.informer = makeInformer(kc, '/apis/policy/v1/poddisruptionbudgets', () =>
      policy.listPodDisruptionBudgetForAllNamespaces(),
    );
    const seen = (pdb: V1PodDisruptionBudget) => this.seen(pdb);
    this.informer.on('add', seen);
    this.informer.on('update', seen);
    this.informer.on('error', () => this.broken());
  }

  /** Starts listing and watching; never throws (a failed start is retried, the callers poll meanwhile). */
  static start(kc: KubeConfig, clock: Clock): BudgetWatch {
    const watch = new BudgetWatch(kc, clock);
    watch.connect();
    return watch;
  }

  /** Every budget as last seen; undefined while the watch is down. */
  budgets(): readonly V1PodDisruptionBudget[] | undefined {
    return this.live ? this.informer.list() : undefined;
  }

  /** Whether the budget allows a disruption, as last seen; undefined while the watch is down or it is unknown. */
  allows(namespace: string, name: string): boolean | undefined {
    if (!this.live) return undefined;
    const pdb = this.informer.get(name, namespace);
    return pdb ? (pdb.status?.disruptionsAllowed ?? 0) > 0 : undefined;
  }

  /**
   * Resolves the next time the watch sees the budget allow a disruption (or when the watch stops). Note:
   * it waits for news, never answers from the cache: a caller just refused by the Eviction API knows more
   * than a cache that may not have seen the budget drop yet.
   */
  nextAllowing(namespace: string, name: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const key = `${namespace}/${name}`;
    return new Promise((resolve) => {
      const list = this.waiters.get(key) ?? [];
      list.push(resolve);
      this.waiters.set(key, list);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.live = false;
    this.restart?.cancel();
    for (const list of this.waiters.values()) for (const wake of list) wake();
    this.waiters.clear();
    await this.informer.stop();
  }

  private connect(): void {
    // Note: start() resolves once the list is in the cache and the watch request is answered; a list or
    // watch that fails calls the informer's error handler instead of rejecting, which schedules a restart.
    this.informer.start().then(
      () => {
        if (!this.stopped && !this.restart) this.live = true;
      },
      () => this.broken(),
    );
  }

  private broken(): void {
    this.live = false;
    if (this.stopped || this.restart) return;
    this.restart = this.clock.setTimer(RESTART_DELAY_MS, () => {
      this.restart = undefined;
      if (!this.stopped) this.connect();
    });
  }

  private seen(pdb: V1PodDisruptionBudget): void {
    if ((pdb.status?.disruptionsAllowed ?? 0) <= 0) return;
    const key = `${pdb.metadata?.namespace}/${pdb.metadata?.name}`;
    const list = this.waiters.get(key);
    if (!list) return;
    this.waiters.delete(key);
    for (const wake of list) wake();
  }
}
