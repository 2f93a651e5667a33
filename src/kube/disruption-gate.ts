import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { Clock, Timer } from '../core/index.ts';
import type { WatchedObjects } from './watched-objects.ts';

/**
 * How long an accepted eviction keeps its budget's disruption when the watch has not shown the budget count it.
 * Note: the Eviction API decrements disruptionsAllowed and records the pod in status.disruptedPods in one write
 * before it answers, so the watch brings that version within an event's latency; this bound only matters when
 * no such version ever comes: the pod was no longer Ready when the API took it (no decrement), or the watch
 * listed afresh. Too short lets a lagging watch over-admit (the API then refuses, 429); too long keeps a
 * disruption nobody uses. A few seconds is both far above a watch's latency and below a pod's start-up.
 */
const UNSEEN_ACCEPTED_HOLD_MS = 5_000;

/** One disruption of a budget, held by this process for one pod's eviction. */
export interface EvictionPermit {
  /** The API accepted the eviction: the disruption stays held until the watched budget shows it taken. */
  accepted(): void;
  /** The eviction was refused, failed, or was not sent: the disruption goes to the next waiting eviction. */
  release(): void;
}

export interface AdmitOptions {
  /** Settles when the caller stops waiting (its drain stopped, its pod changed): `admit` then resolves undefined. */
  giveUp?: Promise<unknown>;
  /** Called once when the eviction has to wait, with why (the budget's numbers, as the Eviction API words them). */
  onWait?: (message: string) => void;
}

interface Hold {
  pod: string;
  unseen?: Timer;
}

interface Waiter {
  pod: string;
  grant: (permit: EvictionPermit | undefined) => void;
}

interface BudgetQueue {
  namespace: string;
  name: string;
  /** Disruptions taken by evictions sent (or accepted) that the watched status does not count yet. */
  holds: Hold[];
  /** Evictions waiting for a disruption, first come first served. */
  waiters: Waiter[];
  /** Set while a watch waiter observes this budget's every version; see observe(). */
  observer?: object;
}

/**
 * Hands out each budget's allowed disruptions to the evictions of one process (every drain of a run), from
 * the budgets' watch: an eviction waits here while the watched budget allows none, and when the budget
 * allows one again, one waiting eviction goes, not every drain's at once (all but one of which the API would
 * refuse).
 *
 * Free disruptions = the watched status's disruptionsAllowed − the ones held here. A disruption is held from
 * the moment it is handed out (before the request is sent) until the watch shows a version of the budget
 * with the pod in status.disruptedPods: the Eviction API writes that entry in the same update as the
 * decrement, so from that version on the status counts it and holding it longer would count it twice. A
 * refused or failed eviction gives its disruption back at once.
 *
 * Only a shortcut: the Eviction API stays the final word, and whoever sends evictions outside this process
 * (or a watch lagging them) still meets its 429. While the watch is down or does not know the budget, `admit`
 * answers undefined at once and callers evict as they would without it.
 */
export class DisruptionGate {
  private readonly queues = new Map<string, BudgetQueue>();
  private stopped = false;

  constructor(
    private readonly watched: WatchedObjects<V1PodDisruptionBudget>,
    private readonly clock: Clock,
  ) {}

  /**
   * Resolves a permit for evicting `pod` under the budget once the budget has a disruption this process has
   * not handed out; undefined at once when the watch cannot tell (down, or the budget unknown), and when
   * `giveUp` settles or the watch stops before a disruption is free.
   */
  admit(
    namespace: string,
    name: string,
    pod: string,
    options: AdmitOptions = {},
  ): Promise<EvictionPermit | undefined> {
    const pdb = this.stopped ? undefined : this.watched.get(name, namespace);
    if (!pdb) return Promise.resolve(undefined);
    const queue = this.queueOf(namespace, name);
    this.observe(queue);
    this.grant(queue, pdb);
    if (queue.waiters.length === 0 && freeDisruptions(pdb, queue) > 0)
      return Promise.resolve(this.hold(queue, pod));
    options.onWait?.(waitReason(pdb, queue));
    return new Promise((resolve) => {
      const waiter: Waiter = { pod, grant: resolve };
      queue.waiters.push(waiter);
      const leave = () => {
        const at = queue.waiters.indexOf(waiter);
        if (at < 0) return; // already granted
        queue.waiters.splice(at, 1);
        resolve(undefined);
      };
      options.giveUp?.then(leave, leave);
    });
  }

  /** Hands every waiting eviction back to its caller (to evict without the gate) and holds nothing more. */
  stop(): void {
    this.stopped = true;
    for (const queue of this.queues.values()) {
      for (const hold of queue.holds) hold.unseen?.cancel();
      queue.holds = [];
      for (const waiter of queue.waiters.splice(0)) waiter.grant(undefined);
    }
    this.queues.clear();
  }

  private queueOf(namespace: string, name: string): BudgetQueue {
    const key = `${namespace}/${name}`;
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { namespace, name, holds: [], waiters: [] };
      this.queues.set(key, queue);
    }
    return queue;
  }

  /**
   * Looks at every version of the budget the watch brings while this process holds or waits for one of its
   * disruptions. IMPORTANT: through the watch waiter's `until`, which sees each version as it arrives; a
   * waiter woken by one event reads the cache a turn later, when the next version (the controller's rewrite
   * that drops the terminating pod from disruptedPods) may already have replaced the one to see.
   */
  private observe(queue: BudgetQueue): void {
    if (queue.observer || this.stopped) return;
    const observer = {};
    queue.observer = observer;
    void this.watched
      .nextChange(queue.namespace, queue.name, (pdb) => {
        this.seen(queue, pdb);
        if (queue.holds.length > 0 || queue.waiters.length > 0) return false;
        queue.observer = undefined;
        this.queues.delete(`${queue.namespace}/${queue.name}`);
        return true;
      })
      .then(() => {
        if (queue.observer !== observer) return; // ended by its own `until` above
        // Woken without a version: the watch stopped, or came back with its cache listed afresh.
        queue.observer = undefined;
        if (this.stopped) return;
        this.relisted(queue);
      });
  }

  /** A version of the budget (undefined: deleted): what it counts is no longer held; free ones go to waiters. */
  private seen(queue: BudgetQueue, pdb: V1PodDisruptionBudget | undefined): void {
    const disrupted = pdb?.status?.disruptedPods ?? {};
    for (const hold of [...queue.holds]) if (disrupted[hold.pod] !== undefined) this.unhold(queue, hold);
    this.grant(queue, pdb);
  }

  /**
   * The watch listed the budgets again (after a break): the accepted evictions are in that list's status;
   * those not answered yet keep their disruption until their answer.
   * Note: while the watch is down, grant() hands the waiters back, to evict as without a watch.
   */
  private relisted(queue: BudgetQueue): void {
    for (const hold of [...queue.holds]) if (hold.unseen) this.unhold(queue, hold);
    this.grant(queue, this.watched.get(queue.name, queue.namespace));
    if (queue.holds.length > 0 || queue.waiters.length > 0) this.observe(queue);
  }

  /**
   * Hands free disruptions to the first waiters; with no budget to go by (the watch down, the budget deleted)
   * every waiter goes back to its caller, which evicts as without a watch.
   */
  private grant(queue: BudgetQueue, pdb: V1PodDisruptionBudget | undefined): void {
    if (!pdb) {
      for (const waiter of queue.waiters.splice(0)) waiter.grant(undefined);
      return;
    }
    let free = freeDisruptions(pdb, queue);
    while (free-- > 0) {
      const waiter = queue.waiters.shift();
      if (!waiter) return;
      waiter.grant(this.hold(queue, waiter.pod));
    }
  }

  private hold(queue: BudgetQueue, pod: string): EvictionPermit {
    const hold: Hold = { pod };
    queue.holds.push(hold);
    let settled = false;
    return {
      accepted: () => {
        if (settled) return;
        settled = true;
        // Seen already (the watch's event came before the answer): nothing is held any more.
        if (!queue.holds.includes(hold)) return;
        hold.unseen = this.clock.setTimer(UNSEEN_ACCEPTED_HOLD_MS, () => this.unhold(queue, hold, true));
      },
      release: () => {
        if (settled) return;
        settled = true;
        this.unhold(queue, hold, true);
      },
    };
  }

  private unhold(queue: BudgetQueue, hold: Hold, grant = false): void {
    hold.unseen?.cancel();
    const at = queue.holds.indexOf(hold);
    if (at < 0) return;
    queue.holds.splice(at, 1);
    if (grant && !this.stopped) this.grant(queue, this.watched.get(queue.name, queue.namespace));
  }
}

/**
 * What the Eviction API would allow now, as the watch last saw the budget: none while the disruption
 * controller has not observed its spec (the API answers "still being processed").
 */
function allowedDisruptions(pdb: V1PodDisruptionBudget): number {
  const status = pdb.status;
  if ((status?.observedGeneration ?? 0) < (pdb.metadata?.generation ?? 0)) return 0;
  return Math.max(0, status?.disruptionsAllowed ?? 0);
}

function freeDisruptions(pdb: V1PodDisruptionBudget, queue: BudgetQueue): number {
  return allowedDisruptions(pdb) - queue.holds.length;
}

function waitReason(pdb: V1PodDisruptionBudget, queue: BudgetQueue): string {
  const name = pdb.metadata?.name ?? '';
  const status = pdb.status;
  if ((status?.observedGeneration ?? 0) < (pdb.metadata?.generation ?? 0))
    return `The disruption budget ${name} is still being processed by the server.`;
  const allowed = allowedDisruptions(pdb);
  if (allowed === 0)
    return `The disruption budget ${name} needs ${status?.desiredHealthy ?? 0} healthy pods and has ${status?.currentHealthy ?? 0} currently`;
  return `The disruption budget ${name} allows ${allowed} disruption(s), all taken by ${queue.holds.length} eviction(s) in flight`;
}
