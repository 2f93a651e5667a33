import { Counter, type Registry } from 'prom-client';
import { matchesLabelSelector } from '../../../core/index.ts';
import { R } from '../../api/resources.ts';
import type { SandboxContext, ViolationRecord } from '../../context.ts';
import { countPodDisruption } from '../../metrics/pod-disruptions.ts';
import { conflict, forbidden, notFound, StatusError, tooManyRequests } from '../../status.ts';
import { type DeleteOptions, deleteObject, rfc3339 } from '../../store/deletion.ts';
import type { KubeObject } from '../../store/types.ts';
import { isPodReady } from '../controllers/pod-state.ts';
import { budgetIndex } from './budget-index.ts';
import { budgetStatus } from './budget-tally.ts';
import { countsAsHealthy, type PdbStatus, withDisruptionCondition } from './pdb-status.ts';

/**
 * The eviction subresource, `POST /api/v1/namespaces/{ns}/pods/{name}/eviction`, as
 * k/k pkg/registry/core/pod/storage/eviction.go implements it (../shared/reference/kubernetes-api.md §1).
 * Throws a StatusError for 4xx/5xx outcomes; returns normally on success (the API layer answers 201).
 */

const PODS = { group: '', resource: 'pods' };
/** Upstream names the budget's resource in the singular in these 403s: `poddisruptionbudget.policy "x"`. */
const PDB_SINGULAR = { group: 'policy', resource: 'poddisruptionbudget' };
const MAX_DISRUPTED_PODS = 2000;
const EVICTION_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget.";

interface EvictionDeleteOptions extends DeleteOptions {
  dryRun?: string[];
}

export function evictPod(ctx: SandboxContext, namespace: string, name: string, eviction: KubeObject): void {
  const counter = evictionCounter(ctx.metrics);
  const options = (eviction.deleteOptions ?? {}) as EvictionDeleteOptions;
  const before = ctx.store.get(R.pods, namespace, name);
  try {
    evict(ctx, namespace, name, options);
    counter.inc({ result: 'allowed' });
    if (before && !before.metadata.deletionTimestamp && !options.dryRun?.includes('All'))
      countPodDisruption(ctx.metrics, before, 'eviction', eviction);
  } catch (err) {
    const code = err instanceof StatusError ? err.code : 500;
    counter.inc({ result: code === 429 || code === 403 ? 'blocked' : 'error' });
    throw err;
  }
}

/**
 * Called by the API layer just before a client's DELETE of a pod (not the simulation's own deletions), so a
 * deletion that takes a budget below its desired healthy count lands in ctx.violations.
 */
export function noteClientPodDeletion(ctx: SandboxContext, pod: KubeObject): void {
  ctx.violations.push(...violationsOfRemoving(ctx, pod, 'delete'));
  if (!pod.metadata.deletionTimestamp) countPodDisruption(ctx.metrics, pod, 'delete');
}

function evict(ctx: SandboxContext, namespace: string, name: string, options: EvictionDeleteOptions): void {
  const pod = ctx.store.get(R.pods, namespace, name);
  if (!pod) throw notFound(PODS, name);
  checkPreconditions(pod, options);
  const dryRun = options.dryRun?.includes('All') ?? false;
  const pdb = budgetToDecrement(ctx, pod);
  if (!pdb) {
    addConditionAndDeletePod(ctx, pod, options, dryRun);
    return;
  }
  // Note: the would-be violations are measured before the budget records this pod as disrupted, since an
  // allowed eviction removes the pod from the healthy count itself.
  const violations = dryRun ? [] : violationsOfRemoving(ctx, pod, 'eviction');
  checkAndDecrement(ctx, pdb, name, dryRun);
  addConditionAndDeletePod(ctx, pod, options, dryRun);
  ctx.violations.push(...violations);
}

/**
 * The budget whose permission the eviction needs, or undefined when the pod may go without asking:
 * it is finished, Pending or already terminating; no budget selects it; or it is unready and the budget
 * does not protect unready pods (AlwaysAllow, or IfHealthyBudget with the budget met).
 */
function budgetToDecrement(ctx: SandboxContext, pod: KubeObject): KubeObject | undefined {
  if (canIgnorePdb(pod)) return undefined;
  const budgets = budgetsSelecting(ctx, pod);
  if (budgets.length > 1) {
    throw new StatusError(
      500,
      undefined,
      'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
    );
  }
  const pdb = budgets[0];
  if (!pdb || isPodReady(pod)) return pdb;
  if (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow') return undefined;
  const status: Partial<PdbStatus> = pdb.status ?? {};
  const desired = status.desiredHealthy ?? 0;
  if ((status.currentHealthy ?? 0) >= desired && desired > 0) return undefined;
  return pdb;
}

/** A pod that is finished, not started, or already going needs no budget's permission. */
function canIgnorePdb(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return (
    phase === 'Succeeded' ||
    phase === 'Failed' ||
    phase === 'Pending' ||
    Boolean(pod.metadata.deletionTimestamp)
  );
}

/** The budgets of the pod's namespace whose selector matches it; one with an invalid selector is skipped. */
function budgetsSelecting(ctx: SandboxContext, pod: KubeObject): KubeObject[] {
  const budgets = budgetIndex(ctx.store).candidateBudgets(pod);
  return budgets.filter((pdb) => {
    try {
      return matchesLabelSelector(pdb.spec?.selector, pod.metadata.labels);
    } catch {
      return false;
    }
  });
}

function checkAndDecrement(ctx: SandboxContext, pdb: KubeObject, podName: string, dryRun: boolean): void {
  const pdbName = pdb.metadata.name ?? '';
  const status: Partial<PdbStatus> = pdb.status ?? {};
  const allowed = status.disruptionsAllowed ?? 0;
  if ((status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) throw stillProcessing(pdbName);
  if (allowed < 0) throw forbidden(PDB_SINGULAR, pdbName, 'pdb disruptions allowed is negative');
  if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS) {
    throw forbidden(
      PDB_SINGULAR,
      pdbName,
      'DisruptedPods map too big - too many evictions not confirmed by PDB controller',
    );
  }
  if (allowed === 0) {
    throw tooManyRequests(EVICTION_MESSAGE, [
      {
        reason: 'DisruptionBudget',
        message: `The disruption budget ${pdbName} needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently`,
      },
    ]);
  }
  if (dryRun) return;
  const now = ctx.clock.now();
  ctx.store.mutate(R.pdbs, pdb.metadata.namespace, pdbName, (draft) => {
    const next: PdbStatus = { ...draft.status, disruptionsAllowed: allowed - 1 };
    // Note: upstream refreshes the condition only when the budget reaches 0 allowed disruptions.
    if (next.disruptionsAllowed === 0) next.conditions = withDisruptionCondition(next.conditions, next, now);
    next.disruptedPods = { ...next.disruptedPods, [podName]: rfc3339(now) };
    draft.status = next;
  });
}

function stillProcessing(pdbName: string): StatusError {
  return tooManyRequests(
    EVICTION_MESSAGE,
    [
      {
        reason: 'DisruptionBudget',
        message: `The disruption budget ${pdbName} is still being processed by the server.`,
      },
    ],
    10,
  );
}

/**
 * Marks the pod DisruptionTarget (so its owner and the kubelet know why it goes), then deletes it gracefully
 * with the eviction's delete options.
 */
function addConditionAndDeletePod(
  ctx: SandboxContext,
  pod: KubeObject,
  options: EvictionDeleteOptions,
  dryRun: boolean,
): void {
  if (dryRun) return;
  const { store, clock } = ctx;
  const namespace = pod.metadata.namespace;
  const name = pod.metadata.name ?? '';
  store.mutate(R.pods, namespace, name, (draft) => {
    draft.status ??= {};
    const conditions: Array<Record<string, unknown>> = draft.status.conditions ?? [];
    const existing = conditions.find((c) => c.type === 'DisruptionTarget');
    const condition = {
      type: 'DisruptionTarget',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: existing?.status === 'True' ? existing.lastTransitionTime : rfc3339(clock.now()),
      reason: 'EvictionByEvictionAPI',
      message: 'Eviction API: evicting',
    };
    draft.status.conditions = [...conditions.filter((c) => c !== existing), condition];
  });
  // Note: preconditions were checked against the pod as the request found it; the condition update above
  // changed its resourceVersion, so only the uid is passed on (upstream swaps in the new resourceVersion).
  deleteObject(store, clock, R.pods, namespace, name, {
    gracePeriodSeconds: options.gracePeriodSeconds,
    propagationPolicy: options.propagationPolicy,
    preconditions: options.preconditions?.uid ? { uid: options.preconditions.uid } : undefined,
  });
}

function checkPreconditions(pod: KubeObject, options: DeleteOptions): void {
  const pre = options.preconditions;
  const name = pod.metadata.name ?? '';
  if (pre?.uid && pre.uid !== pod.metadata.uid) {
    throw conflict(
      PODS,
      name,
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${pod.metadata.uid}`,
    );
  }
  if (pre?.resourceVersion && pre.resourceVersion !== pod.metadata.resourceVersion) {
    throw conflict(
      PODS,
      name,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${pod.metadata.resourceVersion}`,
    );
  }
}

/**
 * The violations removing `pod` now would cause: for each budget that counts it healthy, whether the
 * healthy count after its removal falls below the desired count. Budgets are measured afresh from the
 * store rather than trusted from their (possibly lagging) status.
 */
function violationsOfRemoving(
  ctx: SandboxContext,
  pod: KubeObject,
  cause: ViolationRecord['cause'],
): ViolationRecord[] {
  if (!isPodReady(pod) || pod.metadata.deletionTimestamp) return [];
  const { store, clock } = ctx;
  const namespace = pod.metadata.namespace ?? '';
  const now = clock.now();
  const records: ViolationRecord[] = [];
  for (const pdb of budgetsSelecting(ctx, pod)) {
    const { status, syncError } = budgetStatus(store, pdb, now);
    if (syncError || !countsAsHealthy(pod, status.disruptedPods)) continue;
    const healthyAfter = status.currentHealthy - 1;
    if (healthyAfter >= status.desiredHealthy) continue;
    records.push({
      time: rfc3339(now),
      namespace,
      pdb: pdb.metadata.name ?? '',
      pod: pod.metadata.name ?? '',
      cause,
      healthyAfter,
      desiredHealthy: status.desiredHealthy,
    });
  }
  return records;
}

const COUNTER_NAME = 'sandbox_evictions_total';

function evictionCounter(registry: Registry): Counter<'result'> {
  const existing = registry.getSingleMetric(COUNTER_NAME);
  if (existing) return existing as Counter<'result'>;
  return new Counter({
    name: COUNTER_NAME,
    help: 'Eviction requests answered by the sandbox, by result (allowed, blocked by a budget, error).',
    labelNames: ['result'],
    registers: [registry],
  });
}
