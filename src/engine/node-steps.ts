/**
 * One node through its sub-steps: cordon → drain → upgrade → verify → uncordon. Each side effect is
 * preceded by a store write of its intent and followed by one of its outcome, so a resume picks up at
 * the first milestone not reached and redoes only idempotent work.
 *
 * Invariants: a node is upgraded at most once (its version is read before the provider is called); a node
 * the run did not cordon is never uncordoned by it (the cordon state is recorded BEFORE cordoning).
 */
import {
  compareVersions,
  formatVersion,
  mayRetry,
  minorPath,
  parseDuration,
  parseVersion,
  RUN_ID_LABEL,
  tryParseVersion,
} from '../core/index.ts';
import {
  classifyFailure,
  cordonNode,
  type DrainOptions,
  type DrainProgress,
  type DrainResult,
  drainNode,
  etcdProblemAfter,
  etcdProblemBefore,
  type NodeState,
  NodeWaitTimeoutError,
  readEtcdMembers,
  recordEvent,
  uncordonNode,
  waitForControlPlaneMember,
  waitForNode,
} from '../kube/index.ts';
import type { ControlPlaneStep, NodeStep, NodeWaveStep } from '../plan/index.ts';
import type { NodeRole } from '../providers/index.ts';
import {
  NODE_SUB_STEPS,
  type NodeRowDetail,
  type NodeSubStep,
  type StepStateRecord,
} from '../store/index.ts';
import { StepFailedError } from './errors.ts';
import { dropPendingTaint, PENDING_UPGRADE_TAINT, pendingTaintEnds } from './pending-upgrade-taint.ts';
import { reserveQuarantine } from './quarantine-limit.ts';
import { ANNOTATIONS, type RunContext, StopSignal } from './run-context.ts';
import { replaceWorkerNode } from './surge-node.ts';

type NodeRow = StepStateRecord<NodeRowDetail>;

export interface NodeResult {
  node: string;
  status: 'done' | 'skipped' | 'quarantined';
  /** Namespaces of the pods the drain evicted (the wave gate watches them). */
  namespaces: string[];
  /** strategy surge: the new node that took this one's place (the wave gate checks it, not the old one). */
  replacedBy?: string;
}

export function reached(row: StepStateRecord | undefined, milestone: NodeSubStep): boolean {
  if (!row?.subStep) return false;
  return NODE_SUB_STEPS.indexOf(row.subStep) >= NODE_SUB_STEPS.indexOf(milestone);
}

export function drainOptionsOf(ctx: RunContext): DrainOptions {
  const d = ctx.plan.policy.drain;
  return {
    timeoutMs: parseDuration(d.timeout),
    gracePeriodSeconds: d.gracePeriodSeconds >= 0 ? d.gracePeriodSeconds : undefined,
    deleteEmptyDirData: d.deleteEmptyDirData,
    force: d.force,
    ...ctx.options.drain,
    signal: ctx.drainStop.signal,
    daemonSetCache: ctx.daemonSetCache,
    budgetWatch: ctx.budgetWatch,
    evictionLabels: { [RUN_ID_LABEL]: ctx.runId },
  };
}

/**
 * Records that work on a node (re)starts: one attempt more, and the version it started from, kept from the
 * first attempt (a rollback returns the node to it).
 */
export function recordStart(
  ctx: RunContext,
  step: NodeStep,
  node: string,
  row: NodeRow | undefined,
  kubeletVersion: string,
): NodeRow {
  const patch = {
    status: 'running' as const,
    attempt: (row?.attempt ?? 0) + 1,
    previousVersion: row?.previousVersion ?? kubeletVersion,
    startedAt: row?.startedAt ?? ctx.clock.now(),
    finishedAt: undefined,
    detail: { reason: undefined },
  };
  return ctx.putNodeRow(step.id, node, patch, 'start');
}

/**
 * Records a node's step as failed. `backToStart`: the node is as it was before the step (uncordoned, at its
 * old version), so a resume starts it over instead of picking up at the milestone it had reached.
 */
export function recordFailure(
  ctx: RunContext,
  step: NodeStep,
  node: string,
  detail: NodeRowDetail & { reason: string },
  options: { backToStart?: boolean } = {},
): void {
  ctx.putNodeRow(step.id, node, {
    status: 'failed',
    intent: undefined,
    ...(options.backToStart ? { subStep: undefined } : {}),
    finishedAt: ctx.clock.now(),
    detail,
  });
}

/** Upgrades one worker node of a canary or wave. `secondChance`: a skipped node's retry. */
export async function upgradeWorkerNode(
  ctx: RunContext,
  step: NodeWaveStep,
  node: string,
  secondChance = false,
): Promise<NodeResult> {
  if (step.replacement)
    return observed(ctx, step, node, () => replaceWorkerNode(ctx, step, node, secondChance));
  return observed(ctx, step, node, () => workerNodeSteps(ctx, step, node, secondChance));
}

/**
 * Runs a node's steps and then ends its silences (run-observer.ts): once it is back in service, or its step
 * failed or stopped. Note: not after an unexpected error (the store failing: a crash, as far as this process
 * can tell): the run's end expires them if it can still record it, and a resume does if it could not.
 */
async function observed<T>(
  ctx: RunContext,
  step: NodeStep,
  node: string,
  work: () => Promise<T>,
): Promise<T> {
  let settled = true;
  try {
    return await work();
  } catch (err) {
    settled = err instanceof StepFailedError || (err instanceof StopSignal && err.kind !== 'fatal');
    throw err;
  } finally {
    if (settled) await ctx.observer.nodeSettled(step.id, node);
  }
}

async function workerNodeSteps(
  ctx: RunContext,
  step: NodeWaveStep,
  node: string,
  secondChance: boolean,
): Promise<NodeResult> {
  const version = step.version;
  let row = ctx.nodeRow(step.id, node);
  const result = (status: NodeResult['status'], namespaces: string[] = []): NodeResult => ({
    node,
    status,
    namespaces,
  });
  if (row?.status === 'done') return result('done', row.detail.namespaces ?? []);
  if (row?.status === 'quarantined') return result('quarantined');
  if (row?.status === 'skipped' && (!secondChance || row.detail.final)) return result('skipped');

  const current = await ctx.cluster.readNode(node);
  if (!current) throw new StepFailedError(step.id, node, `node ${node} is no longer in the cluster`, false);
  const fresh = !row?.subStep && row?.intent !== 'cordon';
  if (fresh && current.kubeletVersion === version && current.ready) {
    // Already at the target (upgraded earlier by this plan, or by someone else): nothing to do to it.
    await ctx.cluster.patchNodeMetadata(node, { annotations: ctx.stamps(step) });
    await dropPendingTaint(ctx, step.id, node);
    ctx.putNodeRow(step.id, node, {
      status: 'done',
      intent: undefined,
      previousVersion: row?.previousVersion ?? current.kubeletVersion,
      startedAt: row?.startedAt ?? ctx.clock.now(),
      finishedAt: ctx.clock.now(),
      detail: { alreadyAtTarget: !row?.previousVersion || row.previousVersion === version },
    });
    return result('done');
  }
  row = recordStart(ctx, step, node, row, current.kubeletVersion);
  await ctx.observer.nodeStarting(step.id, node);
  const previousVersion = row.previousVersion!;

  row = await cordonRecorded(ctx, step, node, row, current.unschedulable);
  const weCordoned = row.wasAlreadyCordoned === false;
  ctx.checkpoint('sub-step');

  const drained = await drainRecorded(ctx, step, node, row);
  if ('stuck' in drained) return onDrainStuck(ctx, step, node, drained.stuck, weCordoned, secondChance);
  row = drained.row;
  const namespaces = drained.namespaces;
  ctx.checkpoint('sub-step');

  if (!reached(row, 'upgraded')) {
    row = ctx.putNodeRow(step.id, node, { intent: 'upgrade' }, 'upgrade');
    try {
      await upgradeWithRetries(ctx, step, node, 'worker', previousVersion);
    } catch (err) {
      if (err instanceof StepFailedError)
        await releaseAfterFailedUpgrade(ctx, step, node, previousVersion, weCordoned, err);
      throw err;
    }
    row = ctx.putNodeRow(step.id, node, { subStep: 'upgraded', intent: undefined }, 'upgraded');
  }
  ctx.checkpoint('sub-step');

  if (!reached(row, 'verified')) {
    row = ctx.putNodeRow(step.id, node, { intent: 'verify' }, 'verify');
    await verifyNode(ctx, step, node, version);
    row = ctx.putNodeRow(step.id, node, { subStep: 'verified', intent: undefined }, 'verified');
  }

  // Note: no checkpoint before the uncordon: an upgraded, verified node goes back into service even when the
  // run is stopping.
  ctx.putNodeRow(step.id, node, { intent: 'uncordon' }, 'uncordon');
  // Note: the pending-upgrade taint comes off in the uncordon's own patch: no request more per node.
  if (weCordoned)
    await uncordonNode(ctx.kc, node, {
      clock: ctx.clock,
      annotations: ctx.stamps(step),
      removeTaint: pendingTaintEnds(ctx, step.id, node) ? PENDING_UPGRADE_TAINT : undefined,
      watch: ctx.nodeWatch,
    });
  else {
    await ctx.cluster.patchNodeMetadata(node, { annotations: ctx.stamps(step) });
    await dropPendingTaint(ctx, step.id, node);
  }
  ctx.putNodeRow(
    step.id,
    node,
    { subStep: 'uncordoned', intent: undefined, status: 'done', finishedAt: ctx.clock.now() },
    'done',
  );
  return result('done', namespaces);
}

/**
 * Cordons the node unless its row says it is cordoned.
 * IMPORTANT: the cordon state is recorded before cordoning; after a crash in between, the record (not the
 * node, now cordoned by us) says whether the run may uncordon it.
 */
export async function cordonRecorded(
  ctx: RunContext,
  step: NodeStep,
  node: string,
  row: NodeRow,
  unschedulable: boolean,
): Promise<NodeRow> {
  if (reached(row, 'cordoned')) return row;
  const wasAlreadyCordoned =
    row.intent === 'cordon' && row.wasAlreadyCordoned !== undefined ? row.wasAlreadyCordoned : unschedulable;
  ctx.putNodeRow(step.id, node, { intent: 'cordon', wasAlreadyCordoned }, 'cordon');
  await cordonNode(ctx.kc, node, { clock: ctx.clock, annotations: ctx.stamps(step), watch: ctx.nodeWatch });
  return ctx.putNodeRow(step.id, node, { subStep: 'cordoned', intent: undefined }, 'cordoned');
}

/** Drains the node unless its row says it is drained; a drain that did not finish comes back as `stuck`. */
export async function drainRecorded(
  ctx: RunContext,
  step: NodeStep,
  node: string,
  row: NodeRow,
): Promise<{ row: NodeRow; namespaces: string[] } | { stuck: DrainResult }> {
  if (reached(row, 'drained')) return { row, namespaces: row.detail.namespaces ?? [] };
  ctx.putNodeRow(step.id, node, { intent: 'drain' }, 'drain');
  const drain = await drainWithProgress(ctx, step, node);
  if (drain.outcome === 'aborted')
    throw new StopSignal(ctx.stop?.kind ?? 'abort', ctx.stop?.reason ?? 'stopped');
  if (drain.outcome !== 'drained') return { stuck: drain };
  const namespaces = [...new Set(drain.evicted.map((p) => p.namespace))];
  const drained = ctx.putNodeRow(
    step.id,
    node,
    {
      subStep: 'drained',
      intent: undefined,
      detail: { namespaces, evicted: drain.evicted.length, blocking: undefined },
    },
    'drained',
  );
  return { row: drained, namespaces };
}

async function drainWithProgress(ctx: RunContext, step: NodeStep, node: string): Promise<DrainResult> {
  let lastBlocking = '';
  const onProgress = (p: DrainProgress) => {
    ctx.onDrainProgress?.(node, p);
    const blocking = p.blockedBy.map((b) => ({
      pod: `${b.pod.namespace}/${b.pod.name}`,
      budget: b.pdb,
      reason: b.message,
    }));
    ctx.emit({
      type: 'eviction-progress',
      stepId: step.id,
      node,
      evicted: p.evicted.length,
      pending: p.pending.length,
      blocking,
    });
    const key = blocking.map((b) => `${b.pod}@${b.budget}`).join(',');
    if (key === lastBlocking) return;
    lastBlocking = key;
    try {
      ctx.store.putStepState<NodeRowDetail>(ctx.runId, step.id, node, { detail: { blocking } });
    } catch (err) {
      ctx.fail(err);
      return;
    }
    if (blocking.length > 0) {
      const budgets = [...new Set(blocking.map((b) => b.budget).filter(Boolean))];
      recordEvent(
        ctx.kc,
        {
          involvedObject: { kind: 'Node', name: node },
          reason: 'DrainBlocked',
          type: 'Warning',
          labels: { [ANNOTATIONS.runId]: ctx.runId },
          message: `midflight run ${ctx.runId}: ${blocking.length} pod(s) wait for disruption budget(s) ${budgets.join(', ')}: ${blocking
            .slice(0, 5)
            .map((b) => b.pod)
            .join(', ')}`,
        },
        { clock: ctx.clock },
      ).catch(() => {});
    }
  };
  return drainNode(ctx.kc, node, drainOptionsOf(ctx), ctx.clock, { onProgress });
}

function describeBlockers(drain: DrainResult): string {
  const parts = drain.blockers.slice(0, 5).map((b) => {
    const pod = `${b.pod.namespace}/${b.pod.name}`;
    return b.budget ? `${pod} (budget ${b.budget})` : `${pod} (${b.message})`;
  });
  const more = drain.blockers.length > 5 ? ` and ${drain.blockers.length - 5} more` : '';
  const what = drain.outcome === 'timeout' ? 'did not finish in time' : 'is blocked';
  return `drain of ${drain.remaining.length > 0 ? `${drain.remaining.length} pod(s)` : 'the node'} ${what}: ${parts.join(', ')}${more}`;
}

/**
 * policy.drain.onTimeout decides: halt the run, skip the node (and come back to it), or quarantine it.
 * A control-plane member always halts: the control plane is not left half upgraded to move on.
 */
export async function onDrainStuck(
  ctx: RunContext,
  step: NodeStep,
  node: string,
  drain: DrainResult,
  weCordoned: boolean,
  secondChance: boolean,
  policy = ctx.plan.policy.drain.onTimeout,
): Promise<NodeResult> {
  const reason = `${node}: ${describeBlockers(drain)}`;
  const blockers = drain.blockers.map((b) => ({
    pod: `${b.pod.namespace}/${b.pod.name}`,
    kind: b.kind,
    budget: b.budget,
  }));
  const quarantine = policy === 'quarantine' ? await reserveQuarantine(ctx, step, node) : undefined;
  if (quarantine?.ok) {
    await ctx.cluster.patchNodeMetadata(node, {
      labels: { [ANNOTATIONS.quarantined]: 'true' },
      annotations: { [ANNOTATIONS.quarantined]: reason.slice(0, 500) },
    });
    ctx.log('warn', `quarantined ${reason}; the node stays cordoned`, { stepId: step.id, node });
    // The run will not drain it again: its cordon keeps pods off, the taint has no more use.
    await dropPendingTaint(ctx, step.id, node);
    ctx.putNodeRow(step.id, node, {
      status: 'quarantined',
      intent: undefined,
      finishedAt: ctx.clock.now(),
      detail: { reason, blockers },
    });
    return { node, status: 'quarantined', namespaces: [] };
  }
  // halt and skip both give the node back to the scheduler: nothing is left cordoned by a stuck drain.
  ctx.putNodeRow(step.id, node, { intent: 'uncordon' }, 'uncordon');
  if (weCordoned) await uncordonNode(ctx.kc, node, { clock: ctx.clock, watch: ctx.nodeWatch });
  if (policy === 'skip') {
    ctx.log(
      'warn',
      `skipped ${reason}${secondChance ? ' (again: left at its version)' : '; will retry at the end of the pool'}`,
      {
        stepId: step.id,
        node,
      },
    );
    ctx.putNodeRow(step.id, node, {
      status: 'skipped',
      subStep: undefined,
      intent: undefined,
      finishedAt: ctx.clock.now(),
      detail: { reason, blockers, final: secondChance ? true : undefined },
    });
    // Left at its version: pods may settle on it again. A first skip keeps the taint for the second try.
    if (secondChance) await dropPendingTaint(ctx, step.id, node);
    return { node, status: 'skipped', namespaces: [] };
  }
  recordFailure(ctx, step, node, { reason, blockers }, { backToStart: true });
  throw new StepFailedError(
    step.id,
    node,
    quarantine && !quarantine.ok
      ? `halted: ${reason}; not quarantined: ${quarantine.reason}. Fix what holds the drain, then \`midflight resume ${ctx.runId}\``
      : `halted: ${reason} (${policy === ctx.plan.policy.drain.onTimeout ? 'drain.onTimeout is halt' : 'a control-plane member always halts'}; resume once the budgets allow it)`,
    false,
  );
}

/**
 * Moves a node to `version`, whatever its role. The node is read first: one already at `version` is not
 * touched (after a crash the provider is not run again over a finished upgrade). Otherwise the provider is
 * called once per minor between the node's version and `version`, upwards or (a rollback) downwards, each
 * hop verified Ready at its version before the next: kubeadm and the kubelet packages move one minor at a
 * time. A provider that declares `skipsMinors` (it replaces the machine) gets one call to `version`.
 * `from`: the version the step started from (row.previousVersion); the walk never goes the other way.
 */
export async function upgradeWithRetries(
  ctx: RunContext,
  step: NodeStep,
  node: string,
  role: NodeRole,
  from: string,
  version = step.version,
): Promise<void> {
  const now = await ctx.cluster.readNode(node);
  if (!now) throw new StepFailedError(step.id, node, `node ${node} is no longer in the cluster`, false);
  if (now.kubeletVersion === version) {
    ctx.log('info', `${node} already runs ${version}: the provider is not called`, { stepId: step.id, node });
    return;
  }
  const current = tryParseVersion(now.kubeletVersion);
  const wanted = parseVersion(version);
  const start = parseVersion(from);
  const upwards = compareVersions(wanted, start) >= 0;
  if (!current || (upwards ? compareVersions(current, wanted) > 0 : compareVersions(current, wanted) < 0))
    throw new StepFailedError(
      step.id,
      node,
      `${node} runs ${now.kubeletVersion || 'an unknown version'}, past ${version} from ${from}: it is not touched; find out who changed it`,
      false,
    );
  const via = [ctx.plan.source, ...ctx.plan.hops].map(parseVersion);
  const hops = ctx.deps.provider.skipsMinors
    ? [version]
    : [...minorPath(current, wanted, via).slice(0, -1).map(formatVersion), version];
  let previous = now.kubeletVersion;
  for (const [i, hop] of hops.entries()) {
    const which = hops.length > 1 ? ` (minor ${i + 1} of ${hops.length})` : '';
    // Note: the node was read just above for the first hop; callProvider reads it again before any other call.
    await callProvider(ctx, step, node, role, previous, hop, which, i === 0 ? now : undefined);
    if (i < hops.length - 1) {
      // Note: the next minor starts only from a node Ready at this one, as kubeadm's runbook requires.
      ctx.checkpoint('sub-step');
      await waitForHop(ctx, step, node, hop);
    }
    previous = hop;
  }
}

/**
 * Calls the provider for one hop, at most 1 + retries times, never for a node already at `version`.
 * `justRead`: the node as read by the caller just before, for the first attempt.
 */
async function callProvider(
  ctx: RunContext,
  step: NodeStep,
  node: string,
  role: NodeRole,
  previousVersion: string,
  version: string,
  which: string,
  justRead?: NodeState,
): Promise<void> {
  const attempts = 1 + ctx.options.providerRetries;
  for (let attempt = 1; ; attempt++) {
    const now = attempt === 1 && justRead ? justRead : await ctx.cluster.readNode(node);
    if (now?.kubeletVersion === version) {
      ctx.log('info', `${node} already runs ${version}: the provider is not called again`, {
        stepId: step.id,
        node,
      });
      return;
    }
    try {
      ctx.log(
        'info',
        `upgrading ${node} to ${version}${which} with the ${ctx.deps.provider.kind} provider (attempt ${attempt}/${attempts})`,
        {
          stepId: step.id,
          node,
          data: { from: previousVersion, to: version },
        },
      );
      await ctx.deps.provider.upgradeNode({
        node,
        version,
        previousVersion,
        pool: step.kind === 'control-plane' ? 'control-plane' : step.pool,
        role,
        runId: ctx.runId,
        signal: ctx.fatal.signal,
        outputFile: ctx.outputFile(`upgrade-${node}`),
        log: (line) => {
          try {
            ctx.log('debug', line, { stepId: step.id, node });
          } catch (err) {
            ctx.fail(err);
          }
        },
      });
      return;
    } catch (err) {
      if (ctx.fatal.signal.aborted) throw ctx.fatalError ?? err;
      const message = err instanceof Error ? err.message : String(err);
      // Note: only what declares itself worth another try is retried: a bug (a TypeError) is not.
      const retryable = mayRetry(classifyFailure(err));
      ctx.log('warn', `attempt ${attempt}/${attempts} to upgrade ${node} failed: ${message}`, {
        stepId: step.id,
        node,
        data: { outputTail: (err as { outputTail?: string[] }).outputTail },
      });
      if (attempt >= attempts || !retryable)
        throw new StepFailedError(
          step.id,
          node,
          `upgrade of ${node} to ${version} failed after ${attempt} attempt(s): ${message}`,
          true,
          { cause: err },
        );
      await ctx.sleepUntil(ctx.clock.now() + ctx.options.providerRetryDelayMs, 'sub-step');
    }
  }
}

/** The node Ready with kubelet `version`, waited for as long as the run's options allow. */
async function waitForNodeAt(ctx: RunContext, node: string, version: string): Promise<void> {
  await waitForNode(
    ctx.kc,
    node,
    {
      kubeletVersion: version,
      timeoutMs: ctx.options.nodeReadyTimeoutMs,
      pollIntervalMs: ctx.options.pollIntervalMs,
      watch: ctx.nodeWatch,
    },
    ctx.clock,
  );
}

/** An intermediate minor: the node must be Ready at it before the provider moves it on. */
async function waitForHop(ctx: RunContext, step: NodeStep, node: string, version: string): Promise<void> {
  try {
    await waitForNodeAt(ctx, node, version);
  } catch (err) {
    if (!(err instanceof NodeWaitTimeoutError)) throw err;
    throw new StepFailedError(
      step.id,
      node,
      `${err.message} (an intermediate minor on the way to ${step.version})`,
      true,
      {
        cause: err,
      },
    );
  }
}

/** After a failed upgrade: a node still Ready at its old version goes back into service. */
async function releaseAfterFailedUpgrade(
  ctx: RunContext,
  step: NodeStep,
  node: string,
  previousVersion: string,
  weCordoned: boolean,
  err: StepFailedError,
): Promise<void> {
  const now = await ctx.cluster.readNode(node);
  if (now?.ready && now.kubeletVersion === previousVersion) {
    if (weCordoned) await uncordonNode(ctx.kc, node, { clock: ctx.clock, watch: ctx.nodeWatch });
    recordFailure(ctx, step, node, { reason: err.message }, { backToStart: true });
  } else {
    recordFailure(ctx, step, node, {
      reason: `${err.message}; left cordoned: it is not Ready at ${previousVersion}`,
    });
  }
}

async function verifyNode(ctx: RunContext, step: NodeStep, node: string, version: string): Promise<void> {
  try {
    await waitForNodeAt(ctx, node, version);
  } catch (err) {
    if (!(err instanceof NodeWaitTimeoutError)) throw err;
    const reason = `${err.message}; the node is left cordoned: repair it, then \`midflight resume ${ctx.runId}\``;
    recordFailure(ctx, step, node, { reason });
    throw new StepFailedError(step.id, node, reason, true, { cause: err });
  }
}

/**
 * One control-plane member, as kubeadm's runbook has it: etcd's other members healthy → cordon and drain
 * (unless policy.drain.controlPlane is false) → provider (role control-plane) → its static pods at the
 * version and the API server answering → its kubelet Ready at the version → its etcd member healthy and
 * quorum → uncordon. Members go strictly one at a time (the caller).
 */
export async function upgradeControlPlaneMember(
  ctx: RunContext,
  step: ControlPlaneStep,
  node: string,
): Promise<void> {
  ctx.enterFlight(node);
  try {
    await observed(ctx, step, node, () => controlPlaneMemberSteps(ctx, step, node));
  } finally {
    ctx.leaveFlight(node);
  }
}

async function controlPlaneMemberSteps(ctx: RunContext, step: ControlPlaneStep, node: string): Promise<void> {
  const version = step.version;
  let row = ctx.nodeRow(step.id, node);
  if (row?.status === 'done') return;
  const current = await ctx.cluster.readNode(node);
  if (!current)
    throw new StepFailedError(step.id, node, `control-plane node ${node} is no longer in the cluster`, false);
  row = recordStart(ctx, step, node, row, current.kubeletVersion);
  await ctx.observer.nodeStarting(step.id, node);
  ctx.checkpoint('sub-step');
  if (!reached(row, 'upgraded')) {
    // Note: before the cordon, so a member that cannot go yet is left as it was.
    if (!reached(row, 'cordoned')) await waitForEtcd(ctx, step, node, 'before');
    if (ctx.plan.policy.drain.controlPlane) {
      row = await cordonRecorded(ctx, step, node, row, current.unschedulable);
      ctx.checkpoint('sub-step');
      const drained = await drainRecorded(ctx, step, node, row);
      if ('stuck' in drained) {
        await onDrainStuck(ctx, step, node, drained.stuck, row.wasAlreadyCordoned === false, false, 'halt');
        return;
      }
      row = drained.row;
      ctx.checkpoint('sub-step');
    }
    ctx.putNodeRow(step.id, node, { intent: 'upgrade' }, 'upgrade');
    try {
      await upgradeWithRetries(ctx, step, node, 'control-plane', row.previousVersion!);
    } catch (err) {
      if (err instanceof StepFailedError) recordFailure(ctx, step, node, { reason: err.message });
      throw err;
    }
    row = ctx.putNodeRow(step.id, node, { subStep: 'upgraded', intent: undefined }, 'upgraded');
  }
  if (!reached(row, 'verified')) {
    ctx.putNodeRow(step.id, node, { intent: 'verify' }, 'verify');
    try {
      await waitForControlPlaneMember(
        ctx.kc,
        node,
        version,
        { timeoutMs: ctx.options.controlPlaneTimeoutMs, pollIntervalMs: ctx.options.pollIntervalMs },
        ctx.clock,
      );
      await waitForNodeAt(ctx, node, version);
      await ctx.cluster.serverVersion();
    } catch (err) {
      if (!(err instanceof NodeWaitTimeoutError)) throw err;
      recordFailure(ctx, step, node, { reason: err.message });
      throw new StepFailedError(step.id, node, err.message, true, { cause: err });
    }
    await waitForEtcd(ctx, step, node, 'after');
    row = ctx.putNodeRow(step.id, node, { subStep: 'verified', intent: undefined }, 'verified');
  }
  ctx.putNodeRow(step.id, node, { intent: 'uncordon' }, 'uncordon');
  if (row.wasAlreadyCordoned === false)
    await uncordonNode(ctx.kc, node, {
      clock: ctx.clock,
      annotations: ctx.stamps(step),
      watch: ctx.nodeWatch,
    });
  else await ctx.cluster.patchNodeMetadata(node, { annotations: ctx.stamps(step) });
  ctx.putNodeRow(
    step.id,
    node,
    { subStep: 'uncordoned', intent: undefined, status: 'done', finishedAt: ctx.clock.now() },
    'done',
  );
}

/**
 * etcd health and quorum through the members' static pods (kube/etcd-health.ts), waited for up to the
 * control-plane timeout: `before` a member goes down every other member is healthy; `after` its upgrade its
 * own member is healthy and a majority is. Fails closed: what cannot be seen healthy in time stops the run.
 * A cluster without etcd static pods (external or managed etcd) has nothing to check here.
 */
async function waitForEtcd(
  ctx: RunContext,
  step: NodeStep,
  node: string,
  when: 'before' | 'after',
): Promise<void> {
  const deadline = ctx.clock.now() + ctx.options.controlPlaneTimeoutMs;
  for (;;) {
    const members = await readEtcdMembers(ctx.kc, ctx.clock);
    if (members.length === 0) return;
    const problem = when === 'before' ? etcdProblemBefore(members, node) : etcdProblemAfter(members, node);
    if (!problem) return;
    if (ctx.clock.now() >= deadline) {
      const reason =
        when === 'before'
          ? `${problem}; ${node} was not touched: repair etcd, then \`midflight resume ${ctx.runId}\``
          : `${problem} after upgrading ${node}: repair etcd, then \`midflight resume ${ctx.runId}\``;
      recordFailure(ctx, step, node, { reason }, { backToStart: when === 'before' });
      throw new StepFailedError(step.id, node, reason, true);
    }
    await ctx.sleepUntil(ctx.clock.now() + ctx.options.pollIntervalMs, 'sub-step');
  }
}
