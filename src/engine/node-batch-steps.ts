/**
 * The steps that move nodes: control-plane members strictly one at a time; a canary or batch's nodes in
 * parallel (the planner sized the batch to the pool's limits), then its gate and soak; and the second try
 * that drain.onTimeout skip gives a phase's skipped nodes at its end.
 */
import { compareVersions, parseVersion } from '../core/index.ts';
import type { ControlPlaneStep, NodeBatchStep, PlanPhase } from '../plan/index.ts';
import { isNodeBatch } from '../plan/index.ts';
import { gateBatch, unavailableDeployments } from './batch-gate.ts';
import { StepFailedError } from './errors.ts';
import { type NodeResult, upgradeControlPlaneMember, upgradeWorkerNode } from './node-steps.ts';
import { type RunContext, StopSignal } from './run-context.ts';

export async function controlPlaneStep(ctx: RunContext, step: ControlPlaneStep): Promise<void> {
  if (step.nodes.length === 0) {
    // A managed control plane: its provider upgrades it; the run only checks that it happened.
    const version = await ctx.cluster.serverVersion();
    if (compareVersions(parseVersion(version), parseVersion(step.version)) < 0)
      throw new StepFailedError(
        step.id,
        undefined,
        `the managed control plane reports ${version}, not ${step.version}: upgrade it with your provider, then resume`,
        true,
      );
    return;
  }
  for (const node of step.nodes) {
    ctx.checkpoint('sub-step');
    await upgradeControlPlaneMember(ctx, step, node);
  }
}

/** A canary or batch: its nodes in parallel, then the gate, then the soak. */
export async function batchStep(ctx: RunContext, step: NodeBatchStep): Promise<void> {
  let row = ctx.nodeGroupRow(step.id)!;
  if (!row.detail.nodesDone) {
    // Note: read before the drains, so only what the batch itself made unavailable can fail its gate.
    const baseline = await unavailableDeployments(ctx);
    const results = await runNodes(ctx, step, step.nodes, false);
    const namespaces = [...new Set(results.flatMap((r) => r.namespaces))];
    row = ctx.putNodeGroupRow(step.id, { detail: { nodesDone: true, namespaces } });
    const upgraded = results.filter((r) => r.status === 'done').map((r) => r.node);
    if (upgraded.length > 0) await gateBatch(ctx, step, upgraded, namespaces, baseline);
  }
  if (step.soakSeconds && step.soakSeconds > 0) {
    const until = row.detail.soakUntil ?? ctx.clock.now() + step.soakSeconds * 1000;
    if (row.detail.soakUntil === undefined)
      ctx.putNodeGroupRow(step.id, { intent: 'soak', detail: { soakUntil: until } });
    ctx.emit({ type: 'soak', stepId: step.id, untilMs: until });
    await ctx.sleepUntil(until, 'batch');
  }
}

/**
 * Runs nodes in parallel; every node finishes its current sub-step before the batch stops, so a failure
 * or a stop request leaves each node in a recorded state. The first failure is rethrown afterwards.
 */
async function runNodes(
  ctx: RunContext,
  step: NodeBatchStep,
  nodes: string[],
  secondChance: boolean,
): Promise<NodeResult[]> {
  ctx.daemonSetCache = new Map();
  const settled = await Promise.allSettled(
    nodes.map(async (node) => {
      try {
        return await upgradeWorkerNode(ctx, step, node, secondChance);
      } catch (err) {
        if (!(err instanceof StopSignal) && !(err instanceof StepFailedError)) ctx.fail(err);
        throw err;
      }
    }),
  );
  if (ctx.fatalError !== undefined) throw ctx.fatalError;
  const failures = settled
    .filter((s): s is PromiseRejectedResult => s.status === 'rejected')
    .map((s) => s.reason);
  const failed = failures.find((f) => !(f instanceof StopSignal));
  if (failed) throw failed;
  if (failures.length > 0) throw failures[0];
  return settled.map((s) => (s as PromiseFulfilledResult<NodeResult>).value);
}

/** policy.drain.onTimeout: skip — the phase's skipped nodes get one more try, one at a time, at its end. */
export async function retrySkipped(ctx: RunContext, phase: PlanPhase): Promise<void> {
  for (const step of phase.steps) {
    if (!isNodeBatch(step)) continue;
    for (const node of step.nodes) {
      const row = ctx.nodeRow(step.id, node);
      if (row?.status !== 'skipped' || row.detail.final) continue;
      ctx.checkpoint('batch');
      ctx.log('info', `retrying skipped node ${node}`, { stepId: step.id, node });
      const baseline = await unavailableDeployments(ctx);
      const [result] = await runNodes(ctx, step, [node], true);
      if (result?.status === 'done') await gateBatch(ctx, step, [node], result.namespaces, baseline);
    }
  }
}
