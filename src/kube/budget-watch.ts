import { type KubeConfig, PolicyV1Api, type V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { Clock } from '../core/index.ts';
import { BudgetsByLabel } from './budgets-by-label.ts';
import { DisruptionGate } from './disruption-gate.ts';
import type { LabelledPod } from './drain.ts';
import { WatchedObjects } from './watched-objects.ts';

/**
 * Every PodDisruptionBudget of the cluster, kept current by one watch (an informer, watched-objects.ts): the
 * drains of a flow learn the moment a budget allows a disruption again, instead of each polling it, and
 * admission reads the budgets without a list per choice.
 *
 * While the watch is down (not yet listed, or broken and waiting to restart) it knows nothing: `budgets()`
 * and `allows()` answer undefined and callers fall back to reading the API themselves. A watch is only
 * ever a shortcut here; the Eviction API stays the final word on every disruption.
 */
export class BudgetWatch {
  /**
   * Hands each budget's allowed disruptions to the evictions of the drains sharing this watch, so that none is
   * sent while the watched budget allows none and one budget's disruption goes to one eviction at a time.
   */
  readonly gate: DisruptionGate;
  /** The budgets filed by label, kept until one comes, goes or has its spec changed; undefined: to build. */
  private index?: BudgetsByLabel;

  private constructor(
    private readonly watched: WatchedObjects<V1PodDisruptionBudget>,
    clock: Clock,
  ) {
    this.gate = new DisruptionGate(watched, clock);
  }

  /** Starts listing and watching; never throws (a failed start is retried, the callers poll meanwhile). */
  static start(kc: KubeConfig, clock: Clock): BudgetWatch {
    const policy = kc.makeApiClient(PolicyV1Api);
    return new BudgetWatch(
      WatchedObjects.start(kc, clock, {
        path: '/apis/policy/v1/poddisruptionbudgets',
        list: () => policy.listPodDisruptionBudgetForAllNamespaces(),
      }),
      clock,
    );
  }

  /** Every budget as last seen; undefined while the watch is down. */
  budgets(): readonly V1PodDisruptionBudget[] | undefined {
    return this.watched.list();
  }

  /**
   * The names of the budgets selecting the pod (in its namespace), as last seen; undefined while the watch is
   * down. Found through a label index of the budgets instead of matching the pod against each: drains ask
   * for every pod they evict, and a cluster of 1,000 nodes may have a thousand budgets in one namespace.
   * Note: the index is built again only when a budget comes, goes or has its spec (selector) changed, seen
   * on the watch; not on status changes, which come with every eviction.
   */
  budgetsSelecting(pod: LabelledPod): string[] | undefined {
    if (!this.index) {
      const budgets = this.watched.list();
      if (!budgets) return undefined;
      const index = new BudgetsByLabel(budgets);
      this.index = index;
      void this.watched
        .nextChange('', undefined, (pdb) => pdb === undefined || !index.files(pdb))
        .then(() => {
          // A budget came, went or changed its spec; or the watch listed afresh or stopped.
          if (this.index === index) this.index = undefined;
        });
    }
    if (!this.watched.live) return undefined;
    // Note: the index answers namespace/name keys; the budgets selecting a pod are in the pod's namespace.
    return this.index.selecting(pod).map((key) => key.slice(key.indexOf('/') + 1));
  }

  /** Whether the budget allows a disruption, as last seen; undefined while the watch is down or it is unknown. */
  allows(namespace: string, name: string): boolean | undefined {
    const pdb = this.watched.get(name, namespace);
    return pdb ? allowsDisruption(pdb) : undefined;
  }

  /**
   * Resolves the next time the watch sees the budget allow a disruption (or when the watch stops). Note:
   * it waits for news, never answers from the cache: a caller just refused by the Eviction API knows more
   * than a cache that may not have seen the budget drop yet.
   */
  nextAllowing(namespace: string, name: string): Promise<void> {
    return this.watched.nextChange(namespace, name, (pdb) => pdb !== undefined && allowsDisruption(pdb));
  }

  stop(): Promise<void> {
    this.gate.stop();
    return this.watched.stop();
  }
}

function allowsDisruption(pdb: V1PodDisruptionBudget): boolean {
  return (pdb.status?.disruptionsAllowed ?? 0) > 0;
}
