/**
 * strategy blue-green, around the waves of a pool (their nodes flow as surge nodes do, surge-node.ts):
 * - before the pool's first drain, the green pool: one new node at the version for each blue node, all
 *   asked for at once and all Ready, then every blue node cordoned (prepareGreenPool);
 * - each wave drains its blue nodes onto the green ones, as the budgets allow, and holds them;
 * - after the pool's last wave and its soak, the drained blue pool is held for the final soak with the
 *   gates watching, then deleted (finishBlueGreen);
 * - until then a rollback is cheap (rollbackBlueGreen): uncordon blue, drain green back, delete green.
 *
 * The green pool's rows live under a step id of their own, `green-<pool>`, one per blue node: the create of
 * its green node and the cordon of the blue node are recorded there (intent first, as everywhere), so a
 * resume adopts the green nodes and a rollback knows which blue nodes it may uncordon.
 */
import { uncordonNode } from '../kube/index.ts';
import { isNodeWave, type NodeWaveStep, type Plan } from '../plan/index.ts';
import type { RunStore } from '../store/index.ts';
import { StepFailedError } from './errors.ts';
import { soakUnderGates } from './gate-checks.ts';
import { cordonRecorded, drainRecorded, reached } from './node-steps.ts';
import type { RunContext } from './run-context.ts';
import { checkProviderServesPool, deleteDrained, ensureReplacement, providerOf } from './surge-node.ts';

/** The step id of a blue-green pool's green rows. */
export const greenStepId = (pool: string) => `green-${pool}`;

/** The blue-green waves of `pool` at `version`, in plan order. */
function poolSteps(plan: Plan, pool: string, version: string): NodeWaveStep[] {
  return plan.phases
    .flatMap((p) => p.steps)
    .filter(isNodeWave)
    .filter((s) => s.pool === pool && s.version === version && s.replacement?.blueGreen);
}

/** The green pool created and Ready, every blue node cordoned; idempotent, so every wave may call it. */
export async function prepareGreenPool(ctx: RunContext, step: NodeWaveStep): Promise<void> {
  const steps = poolSteps(ctx.plan, step.pool, step.version);
  const green: NodeWaveStep = { ...step, id: greenStepId(step.pool) };
  const provider = providerOf(ctx, step, '');
  const blue = steps.flatMap((s) => s.nodes.filter((n) => !ctx.nodeRow(s.id, n)?.detail.deleted));
  if (blue.every((n) => reached(ctx.nodeRow(green.id, n), 'cordoned'))) return;
  await checkProviderServesPool(ctx, step, '', provider);
  ctx.log(
    'info',
    `blue-green: creating the green pool of ${step.pool} (${blue.length} node(s) at ${step.version})`,
    {
      stepId: step.id,
    },
  );
  // Note: all at once, as a node group is resized; each create is its own recorded intent. Every one is
  // waited for, even after one failed: none is left running behind a run that has stopped.
  const outcomes = await Promise.allSettled(
    blue.map(async (node) => {
      const row =
        ctx.nodeRow(green.id, node) ??
        ctx.putNodeRow(green.id, node, { status: 'running', detail: { replacement: { slot: 'surge' } } });
      if (!row.detail.replacement?.ready) await ensureReplacement(ctx, green, node, row, provider);
    }),
  );
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
  ctx.checkpoint('sub-step');
  for (const node of blue) {
    const row = ctx.nodeRow(green.id, node)!;
    if (reached(row, 'cordoned')) continue;
    const current = await ctx.cluster.readNode(node);
    if (!current)
      throw new StepFailedError(step.id, node, `blue node ${node} is no longer in the cluster`, false);
    await cordonRecorded(ctx, green, node, row, current.unschedulable);
    // Its part is done: the green node Ready, the blue one cordoned (the wave's row takes the node on).
    ctx.putNodeRow(green.id, node, { status: 'done', finishedAt: ctx.clock.now() });
  }
  ctx.log('info', `blue-green: the green pool of ${step.pool} is Ready and every blue node cordoned`, {
    stepId: step.id,
  });
}

/** After the pool's last wave: the drained blue pool held for the final soak, gates watching, then deleted. */
export async function finishBlueGreen(ctx: RunContext, step: NodeWaveStep): Promise<void> {
  const seconds = step.replacement?.finalSoakSeconds;
  if (seconds === undefined) return;
  let row = ctx.nodeGroupRow(step.id)!;
  if (row.detail.blueDeleted) return;
  const until = row.detail.finalSoakUntil ?? ctx.clock.now() + seconds * 1000;
  if (row.detail.finalSoakUntil === undefined) {
    row = ctx.putNodeGroupRow(step.id, { intent: 'soak', detail: { finalSoakUntil: until } });
    ctx.log(
      'info',
      `blue-green: the drained blue pool of ${step.pool} is held for ${seconds}s: \`midflight rollback ${ctx.runId}\` until then puts it back`,
      { stepId: step.id },
    );
  }
  ctx.emit({ type: 'soak', stepId: step.id, untilMs: until });
  await soakUnderGates(ctx, step.id, until);
  const provider = providerOf(ctx, step, '');
  for (const s of poolSteps(ctx.plan, step.pool, step.version)) {
    for (const node of s.nodes) {
      const nodeRow = ctx.nodeRow(s.id, node);
      if (!nodeRow?.detail.replacedBy || nodeRow.detail.deleted) continue;
      await deleteDrained(ctx, s, node, nodeRow, provider);
    }
  }
  ctx.putNodeGroupRow(step.id, { intent: undefined, detail: { blueDeleted: true } });
  ctx.log('info', `blue-green: the blue pool of ${step.pool} is deleted`, { stepId: step.id });
}

/** A blue node still in the cluster and the green node created for it, as the store records them. */
export interface BlueGreenPair {
  pool: string;
  blue: string;
  green: string;
  /** The blue node was schedulable before the run: the rollback uncordons it. */
  uncordonBlue: boolean;
}

/** The pairs a rollback puts back: green rows whose blue node the run has not deleted. */
export function blueGreenPairs(ctx: { plan: Plan; store: RunStore; runId: string }): BlueGreenPair[] {
  const pools = new Set(
    ctx.plan.phases
      .flatMap((p) => p.steps)
      .filter(isNodeWave)
      .filter((s) => s.replacement?.blueGreen)
      .map((s) => s.pool),
  );
  const deleted = new Set(
    ctx.store
      .stepStates(ctx.runId)
      .filter((r) => r.node !== '' && (r.detail as { deleted?: boolean }).deleted)
      .map((r) => r.node),
  );
  const pairs: BlueGreenPair[] = [];
  for (const pool of pools)
    for (const row of ctx.store.stepStates(ctx.runId).filter((r) => r.stepId === greenStepId(pool))) {
      const green = (row.detail as { replacement?: { name?: string } }).replacement?.name;
      if (!green || deleted.has(row.node)) continue;
      pairs.push({ pool, blue: row.node, green, uncordonBlue: row.wasAlreadyCordoned === false });
    }
  return pairs;
}

/**
 * The cheap way back, before the blue pool is deleted: every blue node uncordoned (those the run cordoned),
 * then each green node cordoned, drained (budgets respected) and deleted. Rows under `stepId` (the rollback's).
 */
export async function rollbackBlueGreen(
  ctx: RunContext,
  stepId: string,
  pairs: readonly BlueGreenPair[],
): Promise<void> {
  for (const p of pairs) {
    if (!p.uncordonBlue) continue;
    ctx.checkpoint('step');
    await uncordonNode(ctx.kc, p.blue, { clock: ctx.clock });
    ctx.log('info', `blue-green rollback: ${p.blue} (blue) is schedulable again`, { node: p.blue });
  }
  const provider = ctx.deps.nodeProvider;
  for (const p of pairs) {
    ctx.checkpoint('step');
    const step: NodeWaveStep = {
      id: stepId,
      kind: 'node-wave',
      title: `Drain ${p.green} (green) back onto the blue nodes and delete it`,
      version: '',
      pool: p.pool,
      nodes: [p.green],
      maxInFlight: 1,
      reasons: ['blue-green rollback'],
      checks: [],
      rollback: 'create the green pool again',
      estimateSeconds: 0,
    };
    let row = ctx.nodeRow(stepId, p.green);
    if (row?.status === 'done') continue;
    const current = await ctx.cluster.readNode(p.green);
    row = ctx.putNodeRow(stepId, p.green, {
      status: 'running',
      startedAt: row?.startedAt ?? ctx.clock.now(),
    });
    if (current) {
      row = await cordonRecorded(ctx, step, p.green, row, current.unschedulable);
      const drained = await drainRecorded(ctx, step, p.green, row);
      if ('stuck' in drained)
        throw new StepFailedError(
          stepId,
          p.green,
          `the drain of green node ${p.green} did not finish: resume the rollback once the budgets allow it`,
          true,
        );
      row = drained.row;
      if (!provider)
        throw new StepFailedError(stepId, p.green, 'no node provider to delete the green node with', false);
      row = await deleteDrained(ctx, step, p.green, row, provider);
    }
    ctx.putNodeRow(
      stepId,
      p.green,
      { status: 'done', intent: undefined, finishedAt: ctx.clock.now(), detail: { deleted: true } },
      'done',
    );
    ctx.log('info', `blue-green rollback: ${p.green} (green) drained and deleted`, { node: p.green });
  }
}
