/**
 * The kube-native gate after a wave: its nodes Ready at the version, no pod from the drained namespaces
 * stuck Pending beyond a grace period, and every Deployment there available again. Fails closed: a gate
 * that cannot be read or never passes stops the run. (Prometheus SLI gates come with src/gates.)
 */
import type { NodeWaveStep } from '../plan/index.ts';
import { StepFailedError } from './errors.ts';
import type { RunContext } from './run-context.ts';

/** Deployments (namespace/name) already short of available replicas before the wave: not the wave's doing. */
export async function unavailableDeployments(ctx: RunContext): Promise<Set<string>> {
  const out = new Set<string>();
  for (const d of await ctx.cluster.listDeployments())
    if ((d.status?.availableReplicas ?? 0) < (d.spec?.replicas ?? 1))
      out.add(`${d.metadata?.namespace}/${d.metadata?.name}`);
  return out;
}

export async function gateWave(
  ctx: RunContext,
  step: NodeWaveStep,
  nodes: string[],
  namespaces: string[],
  baseline: Set<string>,
): Promise<void> {
  const deadline = ctx.clock.now() + ctx.options.gateTimeoutMs;
  for (;;) {
    const problems = await gateProblems(ctx, step, nodes, namespaces, baseline);
    if (problems.length === 0) return;
    if (ctx.clock.now() >= deadline)
      throw new StepFailedError(
        step.id,
        undefined,
        `the health gate after ${step.id} did not pass within ${Math.round(ctx.options.gateTimeoutMs / 1000)}s: ${problems.slice(0, 5).join('; ')}`,
        true,
      );
    await ctx.sleepUntil(ctx.clock.now() + ctx.options.pollIntervalMs, 'sub-step');
  }
}

async function gateProblems(
  ctx: RunContext,
  step: NodeWaveStep,
  nodes: string[],
  namespaces: string[],
  baseline: Set<string>,
): Promise<string[]> {
  const problems: string[] = [];
  for (const name of nodes) {
    const node = await ctx.cluster.watchedNode(name, ctx.nodeWatch);
    if (!node) problems.push(`node ${name} is gone`);
    else if (!node.ready || node.kubeletVersion !== step.version)
      problems.push(`node ${name} is ${node.ready ? 'Ready' : 'not Ready'} at ${node.kubeletVersion}`);
  }
  const now = ctx.clock.now();
  for (const ns of namespaces) {
    for (const pod of await ctx.cluster.listPods(ns, 'status.phase=Pending')) {
      const created = Date.parse(String(pod.metadata?.creationTimestamp ?? ''));
      if (Number.isFinite(created) && now - created > ctx.options.pendingGraceMs)
        problems.push(`pod ${ns}/${pod.metadata?.name} Pending for ${Math.round((now - created) / 1000)}s`);
    }
    for (const d of await ctx.cluster.listDeployments(ns)) {
      const key = `${ns}/${d.metadata?.name}`;
      const want = d.spec?.replicas ?? 1;
      const have = d.status?.availableReplicas ?? 0;
      if (have < want && !baseline.has(key)) problems.push(`deployment ${key} has ${have}/${want} available`);
    }
  }
  return problems;
}
