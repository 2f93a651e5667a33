import {
  AppsV1Api,
  type KubeConfig,
  type KubernetesObject,
  PolicyV1Api,
  type V1Pod,
  type V1PodDisruptionBudget,
} from '@kubernetes/client-node';
import { type Clock, isHealthyForBudget, matchesLabelSelector, type Pod, type Timer } from '../core/index.ts';
import { type ApiFailure, apiFailureClass, apiFailureOf, isNotFound } from './api-failure.ts';
import type { BudgetWatch } from './budget-watch.ts';
import type { EvictionPermit } from './disruption-gate.ts';
import { controllerOf, deletionAgeSeconds, type PodFilterBlock, podDeleteStatus } from './drain-filters.ts';
import { deletePodJson, evictPodJson, getPodJson } from './pod-requests.ts';
import { listPodMetadataOnNode, listPodsOnNode } from './pods-on-node.ts';
import { jitter, withRetries } from './retry.ts';
import { WatchedObjects } from './watched-objects.ts';

/** Like kubectl's drain Helper: every field optional, defaults in DEFAULT_DRAIN_OPTIONS. */
export interface DrainOptions {
  /** Skip DaemonSet-managed pods (their controller ignores the cordon and would recreate them). Default true. */
  ignoreDaemonSets?: boolean;
  /** Evict pods using emptyDir volumes, whose data is lost. Default false: such pods block the drain. */
  deleteEmptyDirData?: boolean;
  /** Evict pods without a controller (nothing recreates them) and pods of a vanished DaemonSet. Default false. */
  force?: boolean;
  /** deleteOptions.gracePeriodSeconds for each eviction; undefined (the default) keeps each pod's own. */
  gracePeriodSeconds?: number;
  /**
   * The whole drain's deadline in clock ms; 0 (the default) = none. When it passes, drainNode returns
   * `timeout` with the pods left and what holds them; the caller's policy decides what comes next.
   */
  timeoutMs?: number;
  /** Eviction requests in flight at once. Default 20. */
  concurrency?: number;
  /** Wait before retrying an eviction a disruption budget refused (429). Default 5 s, ±20% jitter. */
  evictionRetryDelayMs?: number;
  /**
   * How often the node's pods are looked at to see which are gone: in the drain's watch of them, or listed
   * while that watch is down. Default 1 s.
   */
  pollIntervalMs?: number;
  /** Plain DELETE instead of the Eviction API: no budget is consulted. Default false. */
  disableEviction?: boolean;
  /** Pods deleting for longer than this many seconds count as gone (kubectl's flag). Default 0 = off. */
  skipWaitForDeleteTimeoutSeconds?: number;
  /** Consecutive 5xx or network failures of one pod's eviction before it counts as blocked. Default 8. */
  maxEvictionErrors?: number;
  /** Stops the drain early (the run was paused or aborted): the outcome is then `aborted`. */
  signal?: AbortSignal;
  /**
   * Whether each DaemonSet (namespace/name) exists, shared by drains that run together (a batch): a hundred
   * nodes drained at once then ask once per DaemonSet instead of once per node. Failed lookups are not kept.
   * Default: none, each drain asks.
   */
  daemonSetCache?: Map<string, Promise<boolean>>;
  /**
   * Labels on each Eviction (Midflight's run id, core/run-id-label.ts): an audit log, and the sandbox's
   * disruption counter, then tell the run's own disruptions from anyone else's. Not sent with plain deletes.
   */
  evictionLabels?: Record<string, string>;
  /**
   * The cluster's budgets, watched, shared by the drains that run together. An eviction whose pod one budget
   * protects is not sent while the watch sees that budget allow no disruption, and the disruptions it allows
   * go to the drains' waiting evictions one each, first come first served (its gate, disruption-gate.ts); an
   * eviction the API still refuses is retried the moment the watch sees the budget allow one again, instead of
   * at the next poll. Default: none, every eviction is sent and each drain reads a refusing budget every poll
   * interval.
   */
  budgetWatch?: BudgetWatch;
}

type UnsetByDefault = 'gracePeriodSeconds' | 'signal' | 'daemonSetCache' | 'evictionLabels' | 'budgetWatch';

export const DEFAULT_DRAIN_OPTIONS: Required<Omit<DrainOptions, UnsetByDefault>> = {
  ignoreDaemonSets: true,
  deleteEmptyDirData: false,
  force: false,
  timeoutMs: 0,
  concurrency: 20,
  evictionRetryDelayMs: 5_000,
  pollIntervalMs: 1_000,
  disableEviction: false,
  skipWaitForDeleteTimeoutSeconds: 0,
  maxEvictionErrors: 8,
};

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export type DrainBlockerKind =
  | PodFilterBlock
  /** A budget keeps refusing the eviction (429); only reported when the drain times out. */
  | 'disruption-budget'
  /** The pod is selected by more than one budget: the Eviction API refuses it for good (500). */
  | 'multiple-budgets'
  /** The pod was evicted but has not exited yet; only reported when the drain times out. */
  | 'terminating'
  /** The eviction failed for another reason, or kept failing. */
  | 'eviction-error';

export interface DrainBlocker {
  pod: PodRef;
  kind: DrainBlockerKind;
  message: string;
  /** The disruption budget involved, for `disruption-budget` (and `multiple-budgets` when known). */
  budget?: string;
}

export type PendingReason = 'evicting' | 'waiting-for-budget' | 'retrying' | 'terminating';

export interface PendingPod {
  pod: PodRef;
  reason: PendingReason;
  budget?: string;
  message?: string;
}

export interface BudgetBlock {
  pod: PodRef;
  pdb: string;
  message: string;
}

export interface DrainProgress {
  evicted: PodRef[];
  pending: PendingPod[];
  /** Pods a disruption budget currently refuses to let go, and which budget. */
  blockedBy: BudgetBlock[];
}

export interface DrainHooks {
  /** Called whenever a pod's state changes; must not throw (it is the run status and Event's feed). */
  onProgress?(progress: DrainProgress): void;
}

export type DrainOutcome = 'drained' | 'timeout' | 'blocked' | 'aborted';

export interface DrainResult {
  /**
   * `drained`: every pod to evict is gone. `blocked`: a pod cannot be evicted at all (filters, several
   * budgets, a persistent error) — when filters block, nothing was evicted. `timeout`: `timeoutMs` passed.
   * `aborted`: the signal fired.
   */
  outcome: DrainOutcome;
  /** Pods evicted (or deleted) that are now gone or replaced. */
  evicted: PodRef[];
  /** Pods left on the node on purpose: DaemonSet-managed, mirror pods, long-terminating ones. */
  skipped: Array<{ pod: PodRef; reason: string }>;
  /** Pods evicted despite a concern (local data lost, no controller). */
  warnings: Array<{ pod: PodRef; message: string }>;
  /** Everything that stops the drain: filter refusals, budgets, persistent errors, pods still exiting. */
  blockers: DrainBlocker[];
  /** Pods to evict that are still there. */
  remaining: PodRef[];
  durationMs: number;
}

/** What watchPodsLeave reads of a pod still on the node (from the watch, typed, or a plain JSON list). */
type PodSeen = { metadata?: { uid?: string; deletionTimestamp?: Date | string } };

type TaskState = PendingReason | 'gone' | 'failed';

interface PodTask {
  ref: PodRef;
  pod: V1Pod;
  state: TaskState;
  budget?: string;
  message?: string;
  failure?: DrainBlocker;
  done: () => void;
  finished: Promise<void>;
}

const MULTIPLE_BUDGETS = /more than one PodDisruptionBudget/i;
const BUDGET_NAME = /disruption budget (\S+?) (?:needs|is still)/;

/**
 * Drains a node with kubectl's semantics (k8s.io/kubectl/pkg/drain): lists its pods, decides per pod with
 * kubectl's filters, and — only when no pod blocks — evicts the rest in parallel through the Eviction API,
 * retrying budget refusals, then waits until each is gone or replaced by a new UID.
 * Note: the node should be cordoned first (cordonNode), or the evicted pods may come straight back.
 * Never throws for a pod's trouble: what holds the drain up is in the result. Throws (KubeOperationError)
 * only when the node's pods cannot be listed at all.
 */
export async function drainNode(
  kc: KubeConfig,
  nodeName: string,
  options: DrainOptions,
  clock: Clock,
  hooks: DrainHooks = {},
): Promise<DrainResult> {
  return new NodeDrain(kc, nodeName, { ...DEFAULT_DRAIN_OPTIONS, ...options }, clock, hooks).run();
}

type ResolvedOptions = typeof DEFAULT_DRAIN_OPTIONS & Pick<DrainOptions, UnsetByDefault>;

class NodeDrain {
  private readonly started: number;
  private readonly stopper: Stopper;
  private readonly limiter: Limiter;
  private readonly tasks: PodTask[] = [];
  private readonly budgetsByNamespace = new Map<string, Promise<V1PodDisruptionBudget[]>>();
  private readonly budgetReads = new Map<string, { at: number; allows: Promise<boolean> }>();
  private readonly skipped: DrainResult['skipped'] = [];
  private readonly warnings: DrainResult['warnings'] = [];
  /** The node's pods, watched from the first list on while pods are to leave; undefined without one. */
  private podWatch?: WatchedObjects<KubernetesObject>;

  constructor(
    private readonly kc: KubeConfig,
    private readonly nodeName: string,
    private readonly options: ResolvedOptions,
    private readonly clock: Clock,
    private readonly hooks: DrainHooks,
  ) {
    this.started = clock.now();
    this.stopper = new Stopper(clock);
    this.limiter = new Limiter(Math.max(1, options.concurrency));
  }

  async run(): Promise<DrainResult> {
    const { pods, resourceVersion } = await this.listPodsOnNode();
    const filterBlockers = await this.classify(pods);
    if (filterBlockers.length > 0) return this.result('blocked', filterBlockers);
    if (this.tasks.length === 0) return this.result('drained', []);
    if (resourceVersion) this.podWatch = this.watchPodsOnNode(pods, resourceVersion);

    const { timeoutMs, signal } = this.options;
    let deadline: Timer | undefined;
    if (timeoutMs > 0) deadline = this.clock.setTimer(timeoutMs, () => this.stopper.stop('timeout'));
    const onAbort = () => this.stopper.stop('aborted');
    signal?.addEventListener('abort', onAbort);
    if (signal?.aborted) onAbort();
    try {
      this.reportProgress();
      const work = Promise.all([...this.tasks.map((t) => this.evict(t)), this.watchPodsLeave()]);
      await Promise.race([work, this.stopper.stopped]);
    } finally {
      deadline?.cancel();
      signal?.removeEventListener('abort', onAbort);
      this.stopper.stop('finished');
      await this.podWatch?.stop();
    }
    const failures = this.tasks.flatMap((t) => (t.failure ? [t.failure] : []));
    const reason = this.stopper.reason;
    if (reason === 'timeout' || reason === 'aborted') {
      return this.result(reason, [...failures, ...this.tasks.flatMap((t) => this.pendingBlocker(t))]);
    }
    return this.result(failures.length > 0 ? 'blocked' : 'drained', failures);
  }

  /**
   * The node's pods, as the API's plain JSON (pods-on-node.ts: the typed client's decoding cost more than the
   * rest of the list). Note: its timestamps are text where a V1Pod has Dates; the filters read none but the
   * deletion time, which deletionAgeSeconds takes either way.
   */
  private async listPodsOnNode(): Promise<{ pods: V1Pod[]; resourceVersion?: string }> {
    const list = await listPodsOnNode(this.kc, this.clock, this.nodeName);
    return { pods: list.items as V1Pod[], resourceVersion: list.metadata.resourceVersion };
  }

  /**
   * One watch of the node's pods (fieldSelector spec.nodeName), from the list the drain started with: the
   * drain learns the moment a pod is gone instead of listing the node's pods every poll interval. Should it
   * break and come back after its history is gone (410), it lists the pods' metadata again.
   */
  private watchPodsOnNode(pods: V1Pod[], resourceVersion: string): WatchedObjects<KubernetesObject> {
    let first: { items: KubernetesObject[]; metadata: { resourceVersion: string } } | undefined = {
      items: pods,
      metadata: { resourceVersion },
    };
    return WatchedObjects.start<KubernetesObject>(this.kc, this.clock, {
      path: '/api/v1/pods',
      fieldSelector: `spec.nodeName=${this.nodeName}`,
      list: async () => {
        // Note: the drain reads only metadata (UID, deletion time), plain JSON or typed alike.
        const list = first ?? ((await listPodMetadataOnNode(this.kc, this.clock, this.nodeName)) as never);
        first = undefined;
        return list;
      },
    });
  }

  /** Sorts the pods into skipped, warned and to-evict; returns the filters' refusals. */
  private async classify(pods: V1Pod[]): Promise<DrainBlocker[]> {
    const missingDaemonSets = await this.missingDaemonSets(pods);
    const blockers: DrainBlocker[] = [];
    const now = this.clock.now();
    for (const pod of pods) {
      const ref = refOf(pod);
      const owner = controllerOf(pod);
      const daemonSetMissing =
        owner?.kind === 'DaemonSet' && missingDaemonSets.has(`${ref.namespace}/${owner.name}`);
      const status = podDeleteStatus(pod, this.options, { now, daemonSetMissing });
      switch (status.action) {
        case 'skip':
          this.skipped.push({ pod: ref, reason: status.message ?? 'skipped' });
          break;
        case 'error':
          blockers.push({ pod: ref, kind: status.block ?? 'eviction-error', message: status.message ?? '' });
          break;
        case 'warning':
          this.warnings.push({ pod: ref, message: status.message ?? '' });
          this.tasks.push(newTask(ref, pod));
          break;
        case 'okay':
          this.tasks.push(newTask(ref, pod));
          break;
      }
    }
    return blockers;
  }

  /** The DaemonSets (namespace/name) that own pods here but no longer exist. */
  private async missingDaemonSets(pods: V1Pod[]): Promise<Set<string>> {
    const owners = new Map<string, { namespace: string; name: string }>();
    for (const pod of pods) {
      const owner = controllerOf(pod);
      const namespace = pod.metadata?.namespace ?? '';
      if (owner?.kind === 'DaemonSet')
        owners.set(`${namespace}/${owner.name}`, { namespace, name: owner.name });
    }
    const apps = this.kc.makeApiClient(AppsV1Api);
    const cache = this.options.daemonSetCache;
    const exists = (key: string, namespace: string, name: string): Promise<boolean> => {
      const known = cache?.get(key);
      if (known) return known;
      const lookup = withRetries(this.clock, `get DaemonSet ${key}`, () =>
        apps.readNamespacedDaemonSet({ namespace, name }),
      ).then(
        () => true,
        (err) => {
          if (!isNotFound(err)) throw err;
          return false;
        },
      );
      cache?.set(key, lookup);
      lookup.catch(() => cache?.delete(key));
      return lookup;
    };
    const missing = new Set<string>();
    await Promise.all(
      [...owners].map(async ([key, { namespace, name }]) => {
        if (!(await exists(key, namespace, name))) missing.add(key);
      }),
    );
    return missing;
  }

  /** Evicts one pod until the API accepts it, the pod is gone, the pod cannot be evicted, or the drain stops. */
  private async evict(task: PodTask): Promise<void> {
    let errors = 0;
    while (!this.stopper.isStopped && task.state !== 'gone' && task.state !== 'failed') {
      if (task.state === 'terminating') {
        await task.finished;
        return;
      }
      const permit = await this.admitEviction(task);
      if (this.stopper.isStopped || !awaitsEviction(task)) {
        permit?.release();
        continue;
      }
      let failure: ApiFailure;
      try {
        await this.limiter.run(() => this.sendEviction(task));
        permit?.accepted();
        this.setState(task, 'terminating');
        continue;
      } catch (err) {
        permit?.release();
        failure = apiFailureOf(err);
      }
      if (failure.code === 404) {
        this.setState(task, 'gone');
      } else if (failure.code === 409) {
        // The UID precondition failed: the pod of that name is a replacement, so ours is gone.
        this.setState(task, 'gone');
      } else if (failure.code === 429 || isNamespaceTerminating(failure)) {
        errors = 0;
        await this.waitForBudget(task, failure);
      } else if (failure.code === 500 && MULTIPLE_BUDGETS.test(failure.message)) {
        this.fail(task, 'multiple-budgets', failure.message);
      } else if (apiFailureClass(failure) === 'transient' && ++errors < this.options.maxEvictionErrors) {
        this.setState(task, 'retrying', { message: failure.message });
        await this.stopper.sleep(jitter(Math.min(30_000, 500 * 2 ** errors)));
      } else {
        const verb = this.options.disableEviction ? 'delete' : 'evict';
        this.fail(task, 'eviction-error', `${verb} pod: ${failure.message} (HTTP ${failure.code ?? 'none'})`);
      }
    }
  }

  /**
   * Before the pod's eviction is sent: waits at the budget watch's gate until the pod's budget has a disruption
   * no other eviction of this process took, so that an eviction the watch knows the API would refuse is not
   * sent, and a budget allowing one disruption again lets one of the waiting evictions go, not all of them.
   * Resolves the permit to settle with the eviction's answer, or undefined to send it as without a watch: no
   * watch (or it is down), eviction disabled, the pod needing no budget's permission (not Ready, terminating),
   * no budget or several selecting it (the API answers those itself).
   * Note: while it waits, a change of the pod (seen by the drain's watch of the node's pods) has it look again:
   * a pod that turned unready may go without the budget's permission, one gone needs no eviction.
   */
  private async admitEviction(task: PodTask): Promise<EvictionPermit | undefined> {
    const budgetWatch = this.options.budgetWatch;
    if (!budgetWatch || this.options.disableEviction) return undefined;
    const { namespace, name } = task.ref;
    for (;;) {
      const podWatch = this.podWatch?.live ? this.podWatch : undefined;
      const pod = podWatch ? podWatch.get(name, namespace) : task.pod;
      if (podWatch) {
        this.notePodState(task, pod);
        if (!awaitsEviction(task)) return undefined;
      }
      if (!pod || !isHealthyForBudget(pod as Pod)) return undefined;
      const budgets = budgetWatch.budgetsSelecting(pod);
      const budget = budgets?.length === 1 ? budgets[0] : undefined;
      if (!budget) return undefined;
      let podChanged = false;
      const changed = podWatch?.nextChange(namespace, name).then(() => {
        podChanged = true;
      });
      const permit = await budgetWatch.gate.admit(namespace, budget, name, {
        giveUp: changed ? Promise.race([this.stopper.stopped, changed]) : this.stopper.stopped,
        onWait: (message) => this.setState(task, 'waiting-for-budget', { budget, message }),
      });
      if (permit || !podChanged || this.stopper.isStopped) return permit;
    }
  }

  private async sendEviction(task: PodTask): Promise<void> {
    const grace = this.options.gracePeriodSeconds;
    const deleteOptions = {
      ...(grace === undefined ? {} : { gracePeriodSeconds: grace }),
      // Note: a StatefulSet pod comes back with the same name; the UID makes sure we never evict the new one.
      preconditions: { uid: task.ref.uid },
    };
    if (this.options.disableEviction) await deletePodJson(this.kc, task.ref, deleteOptions);
    else await evictPodJson(this.kc, task.ref, deleteOptions, this.options.evictionLabels);
  }

  /**
   * A 429: a budget said no (or the API server is overloaded). Waits the retry delay, then re-reads the pod,
   * as kubectl does: it may have gone meanwhile, or be terminating for another reason.
   */
  private async waitForBudget(task: PodTask, failure: ApiFailure): Promise<void> {
    const cause = failure.causes.find((c) => c.reason === 'DisruptionBudget');
    if (cause) {
      const message = cause.message ?? failure.message;
      const budget = BUDGET_NAME.exec(message)?.[1] ?? (await this.budgetSelecting(task.pod));
      this.setState(task, 'waiting-for-budget', { budget, message });
    } else {
      this.setState(task, 'retrying', { message: failure.message });
    }
    const asked = (failure.retryAfterSeconds ?? 0) * 1000;
    const delay = cause ? this.options.evictionRetryDelayMs : Math.max(asked, 1_000);
    const budget = cause ? task.budget : undefined;
    if (budget && !budget.includes(',')) await this.waitUntilBudgetAllows(task, budget, jitter(delay));
    else await this.stopper.sleep(Math.max(asked, jitter(delay)));
    if (this.stopper.isStopped || task.state === 'gone') return;
    if (this.podWatch?.live) {
      // The watch knows: a pod it does not have under this UID is gone (a lagging watch at worst still has it,
      // and the next eviction attempt says 404).
      this.notePodState(task, this.podWatch.get(task.ref.name, task.ref.namespace));
      return;
    }
    try {
      this.notePodState(task, await getPodJson(this.kc, task.ref));
    } catch (err) {
      if (isNotFound(err)) this.setState(task, 'gone');
      // Other read failures: the next eviction attempt tells us more.
    }
  }

  /** The pod of that name as just seen (undefined: there is none): ours is gone, or terminating, or as it was. */
  private notePodState(task: PodTask, current: KubernetesObject | undefined): void {
    if (current?.metadata?.uid !== task.ref.uid) this.setState(task, 'gone');
    else if (current.metadata?.deletionTimestamp) this.setState(task, 'terminating');
  }

  /**
   * Waits at most `delayMs`, but only until the budget allows a disruption again (its replacement pods are
   * Ready): kubectl waits the whole delay, and with a hundred nodes draining the slowest wait sets the pace
   * of the flow. With a budget watch the wait ends the moment the watch sees the budget allow one; without,
   * the budget's status is read at most once per poll interval, whatever number of pods wait for it.
   * Note: with a watch the poll interval still bounds the wait, read from its cache, in case news of the
   * budget came between the refusal and this wait.
   */
  private async waitUntilBudgetAllows(task: PodTask, budget: string, delayMs: number): Promise<void> {
    const namespace = task.ref.namespace;
    const watch = this.options.budgetWatch;
    const until = this.clock.now() + delayMs;
    for (;;) {
      const left = until - this.clock.now();
      if (left <= 0) return;
      const news =
        watch?.allows(namespace, budget) === undefined ? undefined : watch?.nextAllowing(namespace, budget);
      await this.stopper.sleep(Math.min(left, this.options.pollIntervalMs), news);
      if (this.stopper.isStopped || task.state === 'gone') return;
      if (await this.budgetAllows(namespace, budget)) return;
    }
  }

  private budgetAllows(namespace: string, name: string): Promise<boolean> {
    const watched = this.options.budgetWatch?.allows(namespace, name);
    if (watched !== undefined) return Promise.resolve(watched);
    const key = `${namespace}/${name}`;
    const now = this.clock.now();
    const cached = this.budgetReads.get(key);
    if (cached && now - cached.at < this.options.pollIntervalMs) return cached.allows;
    const policy = this.kc.makeApiClient(PolicyV1Api);
    const allows = policy.readNamespacedPodDisruptionBudget({ namespace, name }).then(
      (pdb) => (pdb.status?.disruptionsAllowed ?? 0) > 0,
      // Unreadable: wait out the delay as kubectl would.
      () => false,
    );
    this.budgetReads.set(key, { at: now, allows });
    return allows;
  }

  /** Names the budget selecting the pod when the 429 did not (from the watch when there is one); undefined when none can be found. */
  private async budgetSelecting(pod: V1Pod): Promise<string | undefined> {
    const watched = this.options.budgetWatch?.budgetsSelecting(pod);
    if (watched) return watched.join(',') || undefined;
    const namespace = pod.metadata?.namespace ?? '';
    let budgets = this.budgetsByNamespace.get(namespace);
    if (!budgets) {
      const policy = this.kc.makeApiClient(PolicyV1Api);
      budgets = withRetries(this.clock, `list PodDisruptionBudgets in ${namespace}`, () =>
        policy.listNamespacedPodDisruptionBudget({ namespace }),
      ).then(
        (list) => list.items,
        () => [],
      );
      this.budgetsByNamespace.set(namespace, budgets);
    }
    const matching = (await budgets).filter((pdb) => budgetSelects(pdb, pod));
    return matching.map((pdb) => pdb.metadata?.name).join(',') || undefined;
  }

  /**
   * Marks gone every pod no longer on the node under its UID: as the drain's watch of the node's pods sees
   * them go (looking at least every poll interval, for pods deleting for too long), or, while that watch is
   * down, by listing the node's pods every poll interval.
   * Note: one list per node per interval, not one GET per pod, so draining many nodes stays cheap.
   */
  private async watchPodsLeave(): Promise<void> {
    const { pollIntervalMs, skipWaitForDeleteTimeoutSeconds: skipAfter } = this.options;
    let news: Promise<void> | undefined;
    while (!this.stopper.isStopped && this.tasks.some((t) => !isFinal(t.state))) {
      const watch = this.podWatch;
      news ??= watch?.nextChange('').then(() => {
        news = undefined;
      });
      await this.stopper.sleep(pollIntervalMs, news);
      if (this.stopper.isStopped) return;
      if (!this.tasks.some((t) => t.state === 'terminating')) continue;
      let present: Map<string, PodSeen>;
      try {
        const pods: readonly PodSeen[] =
          watch?.list() ?? (await listPodMetadataOnNode(this.kc, this.clock, this.nodeName)).items;
        present = new Map(pods.map((p) => [p.metadata?.uid ?? '', p]));
      } catch {
        continue; // the API is struggling: look again next interval
      }
      const now = this.clock.now();
      for (const task of this.tasks) {
        if (isFinal(task.state)) continue;
        const pod = present.get(task.ref.uid);
        if (!pod) {
          this.setState(task, 'gone');
        } else if (skipAfter > 0 && (deletionAgeSeconds(pod, now) ?? 0) > skipAfter) {
          this.skipped.push({
            pod: task.ref,
            reason: `pod has DeletionTimestamp older than ${skipAfter} seconds, skipping`,
          });
          this.setState(task, 'gone');
        }
      }
    }
  }

  private setState(
    task: PodTask,
    state: TaskState,
    detail: { budget?: string; message?: string } = {},
  ): void {
    if (isFinal(task.state)) return;
    const changed = task.state !== state || task.budget !== detail.budget || task.message !== detail.message;
    task.state = state;
    task.budget = detail.budget;
    task.message = detail.message;
    if (isFinal(state) || state === 'terminating') {
      task.budget = undefined;
    }
    if (isFinal(state)) task.done();
    if (changed) this.reportProgress();
  }

  private fail(task: PodTask, kind: DrainBlockerKind, message: string): void {
    task.failure = { pod: task.ref, kind, message };
    this.setState(task, 'failed', { message });
  }

  /** Why a pod is still there when the drain stopped early. */
  private pendingBlocker(task: PodTask): DrainBlocker[] {
    const pod = task.ref;
    switch (task.state) {
      case 'waiting-for-budget':
        return [{ pod, kind: 'disruption-budget', budget: task.budget, message: task.message ?? '' }];
      case 'terminating':
        return [{ pod, kind: 'terminating', message: 'evicted, still terminating' }];
      case 'retrying':
      case 'evicting':
        return [{ pod, kind: 'eviction-error', message: task.message ?? 'eviction not yet accepted' }];
      default:
        return [];
    }
  }

  private reportProgress(): void {
    const onProgress = this.hooks.onProgress;
    if (!onProgress) return;
    const progress: DrainProgress = { evicted: [], pending: [], blockedBy: [] };
    for (const task of this.tasks) {
      const state = task.state;
      if (state === 'gone') progress.evicted.push(task.ref);
      if (state === 'gone' || state === 'failed') continue;
      progress.pending.push({ pod: task.ref, reason: state, budget: task.budget, message: task.message });
      if (task.state === 'waiting-for-budget') {
        progress.blockedBy.push({
          pod: task.ref,
          pdb: task.budget ?? 'unknown',
          message: task.message ?? '',
        });
      }
    }
    try {
      onProgress(progress);
    } catch {
      // A progress listener's failure must not break the drain.
    }
  }

  private result(outcome: DrainOutcome, blockers: DrainBlocker[]): DrainResult {
    return {
      outcome,
      evicted: this.tasks.filter((t) => t.state === 'gone').map((t) => t.ref),
      skipped: this.skipped,
      warnings: this.warnings,
      blockers,
      remaining: this.tasks.filter((t) => t.state !== 'gone').map((t) => t.ref),
      durationMs: this.clock.now() - this.started,
    };
  }
}

function newTask(ref: PodRef, pod: V1Pod): PodTask {
  let done = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  return { ref, pod, state: 'evicting', done, finished };
}

function refOf(pod: V1Pod): PodRef {
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
  };
}

function isFinal(state: TaskState): boolean {
  return state === 'gone' || state === 'failed';
}

/** Whether the pod's eviction is still to be sent: it is not gone, failed, or terminating meanwhile. */
function awaitsEviction(task: PodTask): boolean {
  return !isFinal(task.state) && task.state !== 'terminating';
}

function isNamespaceTerminating(failure: ApiFailure): boolean {
  return failure.code === 403 && failure.causes.some((c) => c.reason === 'NamespaceTerminating');
}

/** Ends every wait at once when the drain stops (deadline, abort, or done), so no worker outlives it. */
class Stopper {
  reason: 'timeout' | 'aborted' | 'finished' | undefined;
  readonly stopped: Promise<void>;
  private resolveStopped: () => void = () => {};
  private readonly sleepers = new Set<() => void>();

  constructor(private readonly clock: Clock) {
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
  }

  get isStopped(): boolean {
    return this.reason !== undefined;
  }

  stop(reason: 'timeout' | 'aborted' | 'finished'): void {
    if (this.reason) return;
    this.reason = reason;
    for (const wake of [...this.sleepers]) wake();
    this.resolveStopped();
  }

  /** Sleeps `ms` of the clock, less when the drain stops or `wakeEarly` settles first. */
  sleep(ms: number, wakeEarly?: Promise<unknown>): Promise<void> {
    if (this.isStopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        timer.cancel();
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = this.clock.setTimer(ms, wake);
      this.sleepers.add(wake);
      wakeEarly?.then(wake, wake);
    });
  }
}

/** At most `limit` calls in flight; the others queue in order. */
class Limiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async run<T>(call: () => Promise<T>): Promise<T> {
    // Note: a finishing call hands its slot straight to the next in the queue, so none can jump ahead.
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.active++;
    try {
      return await call();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * Whether the disruption budget covers the pod: same namespace and its selector matches the pod's labels.
 * A selector that does not parse covers nothing here; the Eviction API still has the final word.
 */
/** A pod as budgetSelects reads it: a typed V1Pod or the API's plain JSON. */
export interface LabelledPod {
  metadata?: { namespace?: string; labels?: Record<string, string> };
}

export function budgetSelects(pdb: V1PodDisruptionBudget, pod: LabelledPod): boolean {
  if ((pdb.metadata?.namespace ?? '') !== (pod.metadata?.namespace ?? '')) return false;
  try {
    return matchesLabelSelector(pdb.spec?.selector as never, pod.metadata?.labels ?? {});
  } catch {
    return false;
  }
}
