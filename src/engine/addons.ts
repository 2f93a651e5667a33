/**
 * The add-ons step: kube-proxy's DaemonSet image moves to the target (it must not be newer than the
 * kubelets, which is why it comes after the nodes) and CoreDNS to the version kubeadm pins for the target
 * minor. Idempotent: a workload already at its version is left alone.
 */
import { COREDNS_BY_MINOR, parseVersion } from '../core/versions.ts';
import type { PlanStep } from '../plan/plan-types.ts';
import { StepFailedError } from './errors.ts';
import type { RunContext } from './run-context.ts';

export function corednsVersionFor(kubernetesVersion: string): string | undefined {
  const v = parseVersion(kubernetesVersion);
  return v.major === 1 ? COREDNS_BY_MINOR[v.minor] : undefined;
}

function withTag(image: string, tag: string): string {
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const colon = ref.lastIndexOf(':');
  const repo = colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
  return `${repo}:${tag}`;
}

interface AddonTarget {
  kind: 'DaemonSet' | 'Deployment';
  name: string;
  container: string;
  tag: string;
}

export async function upgradeAddons(ctx: RunContext, step: PlanStep): Promise<void> {
  const target = ctx.plan.target;
  const targets: AddonTarget[] = [
    { kind: 'DaemonSet', name: 'kube-proxy', container: 'kube-proxy', tag: target },
  ];
  const coredns = corednsVersionFor(target);
  if (coredns) targets.push({ kind: 'Deployment', name: 'coredns', container: 'coredns', tag: coredns });
  else
    ctx.log('warn', `no known CoreDNS version for ${target}: CoreDNS is left as it is`, { stepId: step.id });

  for (const t of targets) {
    const current = await ctx.cluster.workloadImage(t.kind, 'kube-system', t.name, t.container);
    if (!current?.image) {
      ctx.log('warn', `${t.kind} kube-system/${t.name} not found: skipped (managed add-on?)`, {
        stepId: step.id,
      });
      continue;
    }
    const wanted = withTag(current.image, t.tag);
    if (current.image === wanted) {
      ctx.log('info', `${t.kind} kube-system/${t.name} already runs ${wanted}`, { stepId: step.id });
      continue;
    }
    ctx.log('info', `setting ${t.kind} kube-system/${t.name} image ${current.image} → ${wanted}`, {
      stepId: step.id,
    });
    await ctx.cluster.setWorkloadImage(t.kind, 'kube-system', t.name, t.container, wanted);
  }

  const deadline = ctx.clock.now() + ctx.options.addonsTimeoutMs;
  for (;;) {
    const waiting: string[] = [];
    for (const t of targets) {
      const w = await ctx.cluster.workloadImage(t.kind, 'kube-system', t.name, t.container);
      if (!w) continue;
      const s = w.status ?? {};
      const rolledOut =
        t.kind === 'DaemonSet'
          ? (s.updatedNumberScheduled ?? 0) >= (s.desiredNumberScheduled ?? 0) &&
            (s.numberAvailable ?? 0) >= (s.desiredNumberScheduled ?? 0)
          : (s.updatedReplicas ?? 0) >= (s.replicas ?? 0) && (s.availableReplicas ?? 0) >= (s.replicas ?? 0);
      if (!rolledOut || (s.observedGeneration ?? 0) < (w.generation ?? 0))
        waiting.push(`${t.kind} kube-system/${t.name}`);
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
