/**
 * strategy surge: one old node of a wave replaced by a new one at the wave's version, instead of upgraded in
 * place. Each old node of the flow holds one slot of its pool (SurgeSlots):
 * - a surge slot (up to maxSurge at once): create the replacement → wait until it is Ready → cordon → drain
 *   → delete the old node. The pool never has fewer Ready nodes than before.
 * - an unavailable slot (up to maxUnavailable at once): cordon → drain → delete → create the replacement →
 *   wait until it is Ready. No node beyond the pool's size is ever asked for.
 * Worked example: a pool of 4 with maxSurge 1, maxUnavailable 0 → 1 node in flight, always in a surge slot:
 * 5 nodes at most, never fewer than 4 Ready. maxSurge 1, maxUnavailable 1 → 2 in flight, one of each kind:
 * 5 nodes at most, never fewer than 3 Ready.
 *
 * Crash safety, as for an in-place node: every side effect is preceded by a write of its intent in the node's
 * row. The create is recorded (with the time it was asked) before the provider is called; the new node is
 * labelled with the run id and the old node's name (REPLACES_LABEL), by the provider when it can and by the
 * engine once it recognises the node, so a resumed run adopts it instead of creating another. A create whose
 * outcome a crash hid is not repeated unless the provider says it made nothing (findCreated).
 *
 * Deletion rules: an old node is deleted only once this run drained it and only DaemonSet, mirror and
 * finished pods are left on it; a replacement that never joined is deleted only when it is this run's (the
 * create named it, or it carries the run id).
 */
import { isDaemonSetPod, isMirrorPod, isTerminalPod, REPLACES_LABEL, RUN_ID_LABEL } from '../core/index.ts';
import type { NodeState } from '../kube/index.ts';
import type { NodeWaveStep } from '../plan/index.ts';
import { type CreatedNodes, matchesNewNodeRule, type NodeGroupProvider } from '../providers/index.ts';
import type { NodeRowDetail, ReplacementRecord, StepStateRecord } from '../store/index.ts';
import { StepFailedError } from './errors.ts';
import {
  cordonRecorded,
  drainRecorded,
  type NodeResult,
  onDrainStuck,
  reached,
  recordFailure,
  recordStart,
} from './node-steps.ts';
import type { RunContext } from './run-context.ts';

type NodeRow = StepStateRecord<NodeRowDetail>;
type Slot = ReplacementRecord['slot'];

/** The slots of one wave's flow in use: which kind the next old node takes. */
class SurgeSlots {
  private readonly used: Record<Slot, number> = { surge: 0, unavailable: 0 };
  constructor(private readonly limits: { maxSurge: number; maxUnavailable: number }) {}

  /** A recorded slot is kept (a resumed node goes on as it started); else a surge slot first. */
  take(recorded: Slot | undefined): Slot {
    const slot = recorded ?? (this.used.surge < this.limits.maxSurge ? 'surge' : 'unavailable');
    this.used[slot]++;
    return slot;
  }

  release(slot: Slot): void {
    this.used[slot]--;
  }
}

const slotsByContext = new WeakMap<RunContext, Map<string, SurgeSlots>>();
/** Claims of unlabelled new nodes, one at a time: two replacements waiting never take the same node. */
const claimsByContext = new WeakMap<RunContext, Promise<unknown>>();

function slotsOf(ctx: RunContext, step: NodeWaveStep): SurgeSlots {
  const byStep = slotsByContext.get(ctx) ?? new Map<string, SurgeSlots>();
  slotsByContext.set(ctx, byStep);
  const slots = byStep.get(step.id) ?? new SurgeSlots(step.replacement!);
  byStep.set(step.id, slots);
  return slots;
}

export function providerOf(ctx: RunContext, step: NodeWaveStep, node: string): NodeGroupProvider {
  const provider = ctx.deps.nodeProvider;
  if (!provider)
    throw new StepFailedError(
      step.id,
      node,
      `pool ${step.pool} has strategy surge, but no node provider was given: the policy needs a nodeProvider section (kind sandbox, command or cluster-api) saying how nodes are created and deleted`,
      false,
    );
  return provider;
}

const checkedByContext = new WeakMap<RunContext, Map<string, Promise<void>>>();

/**
 * The provider's own check that it can serve the pool (NodeGroupProvider.checkPool), once per pool and run,
 * before the run changes anything there: a pool whose MachineDeployment is missing stops the run untouched.
 */
export async function checkProviderServesPool(
  ctx: RunContext,
  step: NodeWaveStep,
  node: string,
  provider: NodeGroupProvider,
): Promise<void> {
  if (!provider.checkPool) return;
  const byPool = checkedByContext.get(ctx) ?? new Map<string, Promise<void>>();
  checkedByContext.set(ctx, byPool);
  let check = byPool.get(step.pool);
  if (!check) {
    check = provider.checkPool(step.pool);
    byPool.set(step.pool, check);
  }
  try {
    await check;
  } catch (err) {
    byPool.delete(step.pool);
    throw new StepFailedError(
      step.id,
      node,
      `the ${provider.kind} node provider cannot serve pool ${step.pool}: ${(err as Error).message}`,
      false,
      { cause: err },
    );
  }
}

/** Replaces one old node of a surge wave (see the top of this file). `secondChance`: a skipped node's retry. */
export async function replaceWorkerNode(
  ctx: RunContext,
  step: NodeWaveStep,
  node: string,
  secondChance: boolean,
): Promise<NodeResult> {
  const provider = providerOf(ctx, step, node);
  let row = ctx.nodeRow(step.id, node);
  const result = (status: NodeResult['status'], r = row): NodeResult => ({
    node,
    status,
    namespaces: r?.detail.namespaces ?? [],
    replacedBy: r?.detail.replacedBy,
  });
  if (row?.status === 'done') return result('done');
  if (row?.status === 'quarantined') return result('quarantined');
  if (row?.status === 'skipped' && (!secondChance || row.detail.final)) return result('skipped');

  const current = await ctx.cluster.readNode(node);
  const deleting = row?.intent === 'delete' || row?.detail.deleted === true;
  if (!current && !deleting)
    throw new StepFailedError(step.id, node, `node ${node} is no longer in the cluster`, false);
  const fresh = !row?.subStep && row?.intent !== 'cordon' && !row?.detail.replacement?.requested;
  if (current && fresh && current.kubeletVersion === step.version && current.ready) {
    // Already at the target: nothing to replace.
    ctx.putNodeRow(step.id, node, {
      status: 'done',
      intent: undefined,
      previousVersion: row?.previousVersion ?? current.kubeletVersion,
      startedAt: row?.startedAt ?? ctx.clock.now(),
      finishedAt: ctx.clock.now(),
      detail: { alreadyAtTarget: true },
    });
    return { node, status: 'done', namespaces: [] };
  }

  await checkProviderServesPool(ctx, step, node, provider);
  const slots = slotsOf(ctx, step);
  // Note: blue-green nodes always hold a surge slot: their green node exists before any drain.
  const slot = slots.take(
    row?.detail.replacement?.slot ?? (step.replacement?.blueGreen ? 'surge' : undefined),
  );
  try {
    row = recordStart(ctx, step, node, row, current?.kubeletVersion ?? row?.previousVersion ?? '');
    row = ctx.putNodeRow(step.id, node, { detail: { replacement: { ...row.detail.replacement, slot } } });
    await ctx.observer.nodeStarting(step.id, node);
    if (!deleting && current) {
      if (slot === 'surge') row = await ensureReplacement(ctx, step, node, row, provider);
      ctx.checkpoint('sub-step');
      row = await cordonRecorded(ctx, step, node, row, current.unschedulable);
      const weCordoned = row.wasAlreadyCordoned === false;
      ctx.checkpoint('sub-step');
      const drained = await drainRecorded(ctx, step, node, row);
      if ('stuck' in drained)
        return await onDrainStuck(ctx, step, node, drained.stuck, weCordoned, secondChance);
      row = drained.row;
      ctx.checkpoint('sub-step');
    }
    if (step.replacement?.blueGreen) {
      // The drained blue node is held (cordoned) until the pool's final soak ends (blue-green.ts).
      return result('done', markReplaced(ctx, step, node, row, 'drained, held'));
    }
    row = await deleteDrained(ctx, step, node, row, provider);
    // Note: no checkpoint between the deletion and the replacement: a stop here would leave the pool short.
    if (slot === 'unavailable') row = await ensureReplacement(ctx, step, node, row, provider);
    row = markReplaced(ctx, step, node, row, 'done');
    const replacedBy = row.detail.replacement?.name;
    ctx.log('info', `replaced ${node} with ${replacedBy} at ${step.version}`, { stepId: step.id, node });
    return result('done', row);
  } finally {
    slots.release(slot);
  }
}

/** The old node's step is done: its row names the node that replaced it. */
function markReplaced(
  ctx: RunContext,
  step: NodeWaveStep,
  node: string,
  row: NodeRow,
  activity: string,
): NodeRow {
  const replacedBy = row.detail.replacement?.name;
  return ctx.putNodeRow(
    step.id,
    node,
    { status: 'done', intent: undefined, finishedAt: ctx.clock.now(), detail: { replacedBy } },
    activity,
  );
}

/**
 * The old node goes, once drained and holding nothing but DaemonSet, mirror and finished pods. Waits until
 * its Node object is gone. Idempotent: a node already gone is deleted.
 */
export async function deleteDrained(
  ctx: RunContext,
  step: NodeWaveStep,
  node: string,
  row: NodeRow,
  provider: NodeGroupProvider,
): Promise<NodeRow> {
  if (row.detail.deleted) return row;
  if (!reached(row, 'drained'))
    throw new StepFailedError(
      step.id,
      node,
      `refusing to delete ${node}: this run has not drained it`,
      false,
    );
  const present = await ctx.cluster.readNode(node);
  if (present) {
    const left = (await ctx.cluster.listPodsOnNode(node)).filter(
      (pod) => !isMirrorPod(pod) && !isDaemonSetPod(pod) && !isTerminalPod(pod),
    );
    if (left.length > 0) {
      const names = left.slice(0, 5).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
      const reason = `refusing to delete ${node}: ${left.length} pod(s) other than DaemonSet pods are still on it (${names.join(', ')}); it stays cordoned: move them, then \`midflight resume ${ctx.runId}\``;
      recordFailure(ctx, step, node, { reason });
      throw new StepFailedError(step.id, node, reason, true);
    }
    row = ctx.putNodeRow(step.id, node, { intent: 'delete' }, 'delete');
    try {
      await provider.deleteNode({ ...callContext(ctx, step, `delete-${node}`), node });
    } catch (err) {
      const reason = `deleting ${node} failed: ${(err as Error).message}; it stays cordoned and drained: \`midflight resume ${ctx.runId}\` deletes it again`;
      recordFailure(ctx, step, node, { reason });
      throw new StepFailedError(step.id, node, reason, true, { cause: err });
    }
    await waitUntilGone(ctx, step, node);
  }
  return ctx.putNodeRow(step.id, node, { intent: undefined, detail: { deleted: true } }, 'deleted');
}

async function waitUntilGone(ctx: RunContext, step: NodeWaveStep, node: string): Promise<void> {
  const deadline = ctx.clock.now() + ctx.options.nodeReadyTimeoutMs;
  while (await ctx.cluster.readNode(node)) {
    if (ctx.clock.now() >= deadline) {
      const reason = `${node} was deleted through the node provider but its Node is still in the cluster after ${Math.round(ctx.options.nodeReadyTimeoutMs / 1000)}s`;
      recordFailure(ctx, step, node, { reason });
      throw new StepFailedError(step.id, node, reason, true);
    }
    await ctx.sleepUntil(ctx.clock.now() + ctx.options.pollIntervalMs, 'sub-step');
  }
}

/**
 * A new node at the wave's version, Ready, labelled as this node's replacement: adopted when one exists
 * (after a crash), otherwise asked for (the intent recorded first) and waited for, up to the provider's
 * join timeout from when it was asked.
 */
export async function ensureReplacement(
  ctx: RunContext,
  step: NodeWaveStep,
  node: string,
  row: NodeRow,
  provider: NodeGroupProvider,
): Promise<NodeRow> {
  let rep = row.detail.replacement ?? { slot: 'surge' };
  if (rep.ready && rep.name) return row;
  const labels = { [RUN_ID_LABEL]: ctx.runId, [REPLACES_LABEL]: node };
  const put = (patch: Partial<ReplacementRecord>, activity?: string, intent?: 'create') => {
    rep = { ...rep, ...patch };
    row = ctx.putNodeRow(step.id, node, { intent, detail: { replacement: rep } }, activity);
    return row;
  };

  let adopted = await labelledReplacement(ctx, node);
  if (!adopted && rep.requested && !rep.name && provider.findCreated) {
    const made = await provider.findCreated(step.pool, labels);
    if (made && made.length > 0) put({ name: made[0] });
    else if (made) {
      ctx.log('info', `the create recorded for ${node}'s replacement made nothing: asking again`, {
        stepId: step.id,
        node,
      });
      put({ requested: false });
    }
  }
  if (adopted) {
    if (adopted.name !== rep.name) put({ name: adopted.name, requested: true });
  } else if (!rep.requested) {
    const knownBefore =
      provider.findCreated === undefined
        ? (await ctx.cluster.listNodes())
            .filter((n) => matchesNewNodeRule(provider.newNodes, step.pool, n))
            .map((n) => n.name)
        : undefined;
    put({ requested: true, requestedAt: ctx.clock.now(), knownBefore, name: undefined }, 'create', 'create');
    let names: string[];
    try {
      names = await provider.createNodes({
        ...callContext(ctx, step, `create-${node}`),
        version: step.version,
        count: 1,
        labels,
      });
    } catch (err) {
      const reason = `could not create a replacement for ${node} in pool ${step.pool}: ${(err as Error).message}`;
      rep = { slot: rep.slot };
      recordFailure(ctx, step, node, { reason, replacement: rep }, { backToStart: !row.detail.deleted });
      throw new StepFailedError(step.id, node, reason, false, { cause: err });
    }
    put({ name: names[0] }, 'created');
    ctx.log(
      'info',
      `asked the ${provider.kind} node provider for ${node}'s replacement${names[0] ? `: ${names[0]}` : ''}`,
      {
        stepId: step.id,
        node,
      },
    );
  }

  const deadline = (rep.requestedAt ?? ctx.clock.now()) + provider.joinTimeoutMs;
  for (;;) {
    adopted ??= await labelledReplacement(ctx, node);
    const created = adopted ? undefined : await createdNodesOf(ctx, step, node, provider);
    if (!adopted) adopted = await claimNewNode(ctx, step, node, rep, provider, created?.nodes);
    if (!adopted && created?.failed) return createFailed(ctx, step, node, row, rep, provider, created.failed);
    if (adopted && adopted.name !== rep.name) put({ name: adopted.name });
    if (adopted) {
      const now = await ctx.cluster.readNode(adopted.name);
      if (now?.ready && now.kubeletVersion === step.version) {
        ctx.log('info', `${node}'s replacement ${adopted.name} is Ready at ${step.version}`, {
          stepId: step.id,
          node,
        });
        return put({ ready: true }, 'replacement ready');
      }
    }
    if (ctx.clock.now() >= deadline) return giveUp(ctx, step, node, row, rep, provider);
    await ctx.sleepUntil(ctx.clock.now() + ctx.options.pollIntervalMs, 'sub-step');
  }
}

/**
 * The provider's own list of its new nodes, when it keeps one. A failure to read it is no news (logged):
 * the join timeout still bounds the wait, as when the nodes are read from the cluster.
 */
async function createdNodesOf(
  ctx: RunContext,
  step: NodeWaveStep,
  node: string,
  provider: NodeGroupProvider,
): Promise<CreatedNodes | undefined> {
  if (!provider.createdNodes) return undefined;
  try {
    return await provider.createdNodes(step.pool, step.version);
  } catch (err) {
    ctx.log(
      'warn',
      `could not read the ${provider.kind} node provider's new nodes: ${(err as Error).message}`,
      {
        stepId: step.id,
        node,
      },
    );
    return undefined;
  }
}

/** The node this run labelled (or had labelled) as `node`'s replacement, if it is in the cluster. */
async function labelledReplacement(ctx: RunContext, node: string): Promise<NodeState | undefined> {
  return (await ctx.cluster.listNodes()).find(
    (n) => n.labels[RUN_ID_LABEL] === ctx.runId && n.labels[REPLACES_LABEL] === node,
  );
}

/**
 * The replacement once it registers: by the name the create gave, or else the first node the provider's rule
 * recognises that runs the version, was not there when the create was asked and no other replacement has
 * claimed. Claiming labels it (run id, the node it replaces) before it is used.
 */
async function claimNewNode(
  ctx: RunContext,
  step: NodeWaveStep,
  node: string,
  rep: ReplacementRecord,
  provider: NodeGroupProvider,
  /** The provider's own list of its new nodes (createdNodes), which replaces its `newNodes` rule. */
  providerNodes?: readonly string[],
): Promise<NodeState | undefined> {
  const previous = claimsByContext.get(ctx) ?? Promise.resolve();
  const claim = previous.then(async () => {
    const all = await ctx.cluster.listNodes();
    const known = new Set(rep.knownBefore ?? []);
    const isNew = (n: NodeState) =>
      providerNodes ? providerNodes.includes(n.name) : matchesNewNodeRule(provider.newNodes, step.pool, n);
    const found = rep.name
      ? all.find((n) => n.name === rep.name)
      : all.find(
          (n) =>
            !known.has(n.name) &&
            n.labels[REPLACES_LABEL] === undefined &&
            n.kubeletVersion === step.version &&
            isNew(n),
        );
    if (!found) return undefined;
    await ctx.cluster.patchNodeMetadata(found.name, {
      labels: { [RUN_ID_LABEL]: ctx.runId, [REPLACES_LABEL]: node },
    });
    return found;
  });
  claimsByContext.set(
    ctx,
    claim.catch(() => {}),
  );
  return claim;
}

/**
 * The replacement did not register and turn Ready in time: a machine of this run's is deleted (so nothing is
 * left orphaned), the row says what happened, and the run stops with that reason.
 */
async function giveUp(
  ctx: RunContext,
  step: NodeWaveStep,
  node: string,
  row: NodeRow,
  rep: ReplacementRecord,
  provider: NodeGroupProvider,
): Promise<never> {
  const waited = Math.round(provider.joinTimeoutMs / 1000);
  let cleanup = '';
  if (!rep.name && provider.withdrawCreate) {
    cleanup = await withdraw(ctx, step, node, provider);
  } else if (rep.name) {
    ctx.putNodeRow(step.id, node, { intent: 'delete' }, 'delete replacement');
    try {
      await provider.deleteNode({ ...callContext(ctx, step, `delete-${rep.name}`), node: rep.name });
      cleanup = `; ${rep.name}, created for it, was deleted`;
    } catch (err) {
      cleanup = `; deleting ${rep.name}, created for it, failed too: ${(err as Error).message}`;
    }
  }
  const oldNode = row.detail.deleted
    ? `${node} is already deleted: pool ${step.pool} is one node short until a resume replaces it`
    : `${node} is untouched`;
  const reason = `the replacement for ${node} ${rep.name ? `(${rep.name}) ` : ''}did not register and turn Ready at ${step.version} within ${waited}s (nodeProvider.joinTimeout)${cleanup}; ${oldNode}. Check the node provider, then \`midflight resume ${ctx.runId}\``;
  stopReplacement(ctx, step, node, row, rep, reason, true);
}

/**
 * The provider says a create it had accepted failed (a Machine refused by a quota): the create is taken back
 * (nothing left behind) and the run stops with the provider's reason, as when the create itself is refused.
 */
async function createFailed(
  ctx: RunContext,
  step: NodeWaveStep,
  node: string,
  row: NodeRow,
  rep: ReplacementRecord,
  provider: NodeGroupProvider,
  failure: string,
): Promise<never> {
  const cleanup = await withdraw(ctx, step, node, provider);
  const reason = `could not create a replacement for ${node} in pool ${step.pool}: ${failure}${cleanup}; ${node} is ${row.detail.deleted ? 'already deleted' : 'untouched'}. Fix the cause, then \`midflight resume ${ctx.runId}\``;
  stopReplacement(ctx, step, node, row, rep, reason, false);
}

/**
 * Records a replacement that did not come (its slot kept, the old node back to its start unless already
 * deleted) and stops the run with `reason`.
 */
function stopReplacement(
  ctx: RunContext,
  step: NodeWaveStep,
  node: string,
  row: NodeRow,
  rep: ReplacementRecord,
  reason: string,
  retryable: boolean,
): never {
  recordFailure(
    ctx,
    step,
    node,
    { reason, replacement: { slot: rep.slot } },
    { backToStart: !row.detail.deleted },
  );
  throw new StepFailedError(step.id, node, reason, retryable);
}

/** Takes back the create recorded for `node`'s replacement; says how it went, for the failure's reason. */
async function withdraw(
  ctx: RunContext,
  step: NodeWaveStep,
  node: string,
  provider: NodeGroupProvider,
): Promise<string> {
  if (!provider.withdrawCreate) return '';
  ctx.putNodeRow(step.id, node, { intent: 'delete' }, 'withdraw create');
  try {
    await provider.withdrawCreate({
      ...callContext(ctx, step, `withdraw-${node}`),
      version: step.version,
      count: 1,
      labels: { [RUN_ID_LABEL]: ctx.runId, [REPLACES_LABEL]: node },
    });
    return `; the create asked for it was withdrawn`;
  } catch (err) {
    return `; withdrawing the create asked for it failed too: ${(err as Error).message}`;
  }
}

function callContext(ctx: RunContext, step: NodeWaveStep, output: string) {
  return {
    pool: step.pool,
    runId: ctx.runId,
    signal: ctx.fatal.signal,
    outputFile: ctx.outputFile(output),
    log: (line: string) => {
      try {
        ctx.log('debug', line, { stepId: step.id });
      } catch (err) {
        ctx.fail(err);
      }
    },
  };
}
