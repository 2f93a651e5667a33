/**
 * The add-ons step: kube-proxy's DaemonSet image moves to the target (it must not be newer than the
 * kubelets, which is why it comes after the nodes) and CoreDNS to the version kubeadm pins for the target
 * minor. Which add-on moves is decided from its live image by the same rule the planner used
 * (core/kubeadm-addons.ts). Idempotent: an add-on at or past its version is left alone.
 */
import { addonVerdict, KUBEADM_ADDONS, type KubeadmAddon, parseVersion } from '../core/index.ts';
import type { PlanStep } from '../plan/index.ts';
import { StepFailedError } from './errors.ts';
import type { RunContext } from './run-context.ts';

export async function upgradeAddons(ctx: RunContext, step: PlanStep): Promise<void> {
  const target = parseVersion(ctx.plan.target);
  const watched: KubeadmAddon[] = [];
  for (const addon of KUBEADM_ADDONS) {
    const current = await ctx.cluster.workloadImage(addon.kind, addon.namespace, addon.name, addon.container);
    const verdict = addonVerdict(addon, current?.image, target);
    if (current) watched.push(addon);
    if (verdict.action === 'keep') {
      ctx.log(current ? 'info' : 'warn', `${verdict.reason}: left as it is`, { stepId: step.id });
      continue;
    }
    ctx.log(
      'info',
      `setting ${addon.kind} ${addon.namespace}/${addon.name} image ${current!.image} → ${verdict.image}`,
      { stepId: step.id },
    );
    await ctx.cluster.setWorkloadImage(
      addon.kind,
      addon.namespace,
      addon.name,
      addon.container,
      verdict.image,
    );
  }

  // Every add-on found must be rolled out and available, moved or not: the step's checks say so.
  const deadline = ctx.clock.now() + ctx.options.addonsTimeoutMs;
  for (;;) {
    const waiting: string[] = [];
    for (const t of watched) {
      const w = await ctx.cluster.workloadImage(t.kind, t.namespace, t.name, t.container);
      if (!w) continue;
      const s = w.status ?? {};
      const rolledOut =
        t.kind === 'DaemonSet'
          ? (s.updatedNumberScheduled ?? 0) >= (s.desiredNumberScheduled ?? 0) &&
            (s.numberAvailable ?? 0) >= (s.desiredNumberScheduled ?? 0)
          : (s.updatedReplicas ?? 0) >= (s.replicas ?? 0) &&
            (s.availableReplicas ?? 0) >= (s.replicas ?? 0) &&
            (s.availableReplicas ?? 0) > 0;
      if (!rolledOut || (s.observedGeneration ?? 0) < (w.generation ?? 0))
        waiting.push(`${t.kind} ${t.namespace}/${t.name}`);
    }
    if (waiting.length === 0) return;
    if (ctx.clock.now() >= deadline)
      throw new StepFailedError(
        step.id,
        undefined,
        `add-ons not rolled out in time: ${waiting.join(', ')}`,
        true,
      );
    await ctx.sleepUntil(ctx.clock.now() + ctx.options.pollIntervalMs, 'sub-step');
  }
}
