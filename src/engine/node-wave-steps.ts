/**
 * The steps that move nodes: control-plane members strictly one at a time; a canary or wave's nodes as a
 * flow, then its gate and soak; and the second try that drain.onTimeout skip gives a phase's skipped nodes
 * at its end.
 */
import { compareVersions, parseVersion } from '../core/index.ts';
import type { ControlPlaneStep, NodeWaveStep, PlanPhase } from '../plan/index.ts';
import { isNodeWave } from '../plan/index.ts';
import { finishBlueGreen, prepareGreenPool } from './blue-green.ts';
import { AdmissionsHaltedError, StepFailedError } from './errors.ts';
import { gatesAllow, recordGateBaselines, soakUnderGates } from './gate-checks.ts';
import { flowNodes } from './node-flow.ts';
import { upgradeControlPlaneMember, upgradeWorkerNode } from './node-steps.ts';
import { taintNodesToDrain } from './pending-upgrade-taint.ts';
import type { RunContext } from './run-context.ts';
import { gateWave, unavailableDeployments } from './wave-gate.ts';

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
  await recordGateBaselines(ctx);
  for (const node of step.nodes) {
    ctx.checkpoint('sub-step');
    await upgradeControlPlaneMember(ctx, step, node);
  }
}

/**
 * A canary or wave: its nodes as a flow (node-flow.ts), then the kube-native gate, then the soak, with the
 * health gates asked before each admission, at the wave's end and all through the soak (gate-checks.ts).
 */
export async function waveStep(ctx: RunContext, step: NodeWaveStep): Promise<void> {
  // Note: before the wave's first drain, so that its pods already prefer the nodes the run will not drain again.
  await taintNodesToDrain(ctx);
  let row = ctx.nodeGroupRow(step.id)!;
  if (!row.detail.nodesDone) {
    await recordGateBaselines(ctx);
    // Note: read before the drains, so only what the wave itself made unavailable can fail its gate.
    const baseline = await unavailableDeployments(ctx);
    if (step.replacement?.blueGreen) await prepareGreenPool(ctx, step);
    const results = await flowNodes(ctx, step);
    const namespaces = [...new Set(results.flatMap((r) => r.namespaces))];
    row = ctx.putNodeGroupRow(step.id, { detail: { nodesDone: true, namespaces } });
    // Note: a replaced node is gone; its replacement is what the gate checks.
    const upgraded = results.filter((r) => r.status === 'done').map((r) => r.replacedBy ?? r.node);
    if (upgraded.length > 0) await gateWave(ctx, step, upgraded, namespaces, baseline);
  }
  // A pool flowing with this one failed: no soak, as no further node (pool-group.ts).
  if (ctx.admissionsHalted !== undefined) throw new AdmissionsHaltedError(step.id, ctx.admissionsHalted);
  if (step.soakSeconds && step.soakSeconds > 0) {
    const until = row.detail.soakUntil ?? ctx.clock.now() + step.soakSeconds * 1000;
    if (row.detail.soakUntil === undefined)
      ctx.putNodeGroupRow(step.id, { intent: 'soak', detail: { soakUntil: until } });
    ctx.emit({ type: 'soak', stepId: step.id, untilMs: until });
    await soakUnderGates(ctx, step.id, until);
  } else {
    await gatesAllow(ctx, step.id);
    ctx.checkpoint('step');
  }
  if (step.replacement?.finalSoakSeconds !== undefined) await finishBlueGreen(ctx, step);
}

/** policy.drain.onTimeout: skip — the phase's skipped nodes get one more try, one at a time, at its end. */
export async function retrySkipped(ctx: RunContext, phase: PlanPhase): Promise<void> {
  for (const step of phase.steps) {
    if (!isNodeWave(step)) continue;
    for (const node of step.nodes) {
      const row = ctx.nodeRow(step.id, node);
      if (row?.status !== 'skipped' || row.detail.final) continue;
      ctx.checkpoint('step');
      ctx.log('info', `retrying skipped node ${node}`, { stepId: step.id, node });
      const baseline = await unavailableDeployments(ctx);
      const result = await upgradeWorkerNode(ctx, step, node, true);
      if (result.status === 'done') await gateWave(ctx, step, [node], result.namespaces, baseline);
    }
  }
}
