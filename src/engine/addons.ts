/**
 * The add-ons step: kube-proxy's DaemonSet image moves to the target (it must not be newer than the
 * kubelets, which is why it comes after the nodes) and CoreDNS to the version kubeadm pins for the target
 * minor. Which add-on moves is decided from its live image by the same rule the planner used
 * (core/kubeadm-addons.ts). Idempotent: an add-on at or past its version is left alone.
 */
import {
  addonVerdict,
  formatDuration,
  KUBEADM_ADDONS,
  type KubeadmAddon,
  parseVersion,
} from '../core/index.ts';
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
  // Note: a rollout fails only when it stops moving, as a Deployment's progressDeadlineSeconds does, not
  // after a fixed time: kube-proxy's DaemonSet replaces one node's pod at a time by default (maxUnavailable
  // 1), so on a thousand nodes it takes hours and is making progress all along.
  let best = -1;
  const started = ctx.clock.now();
  let lastProgress = started;
  let lastReport = Number.NEGATIVE_INFINITY;
  for (;;) {
    const waiting: RolloutState[] = [];
    let moved = 0;
    for (const t of watched) {
      const w = await ctx.cluster.workloadImage(t.kind, t.namespace, t.name, t.container);
      if (!w) continue;
      const state = rolloutState(t, w.status ?? {}, w.generation);
      moved += state.progress;
      if (!state.done) waiting.push(state);
    }
    if (waiting.length === 0) return;
    const now = ctx.clock.now();
    if (moved > best) {
      best = moved;
      lastProgress = now;
      if (now - lastReport >= PROGRESS_REPORT_MS) {
        lastReport = now;
        ctx.log('info', `waiting for ${waiting.map(describe).join(', ')}`, { stepId: step.id });
      }
    }
    if (now - lastProgress >= ctx.options.addonsProgressDeadlineMs)
      throw new StepFailedError(
        step.id,
        undefined,
        `add-ons not rolled out: no progress in ${formatDuration(ctx.options.addonsProgressDeadlineMs)}: ${waiting.map(describe).join(', ')}`,
        true,
      );
    // Note: a long rollout is read less often, so that one of hours is not thousands of reads; its end is
    // seen at most a twentieth of its time so far, or half a minute, late.
    const interval = Math.min(SLOWEST_POLL_MS, Math.max(ctx.options.pollIntervalMs, (now - started) / 20));
    await ctx.sleepUntil(now + interval, 'sub-step');
  }
}

/** How often a long rollout's progress goes to the run's log. */
const PROGRESS_REPORT_MS = 60_000;
/** The longest wait between two reads of a rollout. */
const SLOWEST_POLL_MS = 30_000;

interface RolloutState {
  name: string;
  updated: number;
  available: number;
  desired: number;
  done: boolean;
  /**
   * Pods updated plus pods available, once the controller has seen the new spec: until then its counts are
   * the old revision's (every pod "updated"), and counting them would set a mark the rollout cannot pass
   * until it is nearly done.
   */
  progress: number;
}

/** Where one add-on's rollout stands, from its workload's status (DaemonSet or Deployment). */
function rolloutState(
  addon: KubeadmAddon,
  s: Record<string, number | undefined>,
  generation: number | undefined,
): RolloutState {
  const daemon = addon.kind === 'DaemonSet';
  const desired = (daemon ? s.desiredNumberScheduled : s.replicas) ?? 0;
  const updated = (daemon ? s.updatedNumberScheduled : s.updatedReplicas) ?? 0;
  const available = (daemon ? s.numberAvailable : s.availableReplicas) ?? 0;
  const observed = (s.observedGeneration ?? 0) >= (generation ?? 0);
  // Note: a Deployment with no replica available is not rolled out, even when it wants none: CoreDNS at 0 serves nothing.
  const done = observed && updated >= desired && available >= desired && (daemon || available > 0);
  return {
    name: `${addon.kind} ${addon.namespace}/${addon.name}`,
    updated,
    available,
    desired,
    done,
    progress: observed ? updated + available : 0,
  };
}

function describe(r: RolloutState): string {
  return `${r.name} (${r.updated} of ${r.desired} updated, ${r.available} available)`;
}
