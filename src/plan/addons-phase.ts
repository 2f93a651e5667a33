import {
  addonsBehind,
  type ClusterModel,
  formatDuration,
  formatVersion,
  type KubeadmAddon,
  type KubeVersion,
  scaledValue,
} from '../core/index.ts';
import { phase, seconds, step } from './plan-parts.ts';
import type { PlanPhase } from './plan-types.ts';
import type { Policy } from './policy.ts';

/** A DaemonSet rollout the plan warns of: longer than this, it is worth shortening before the upgrade. */
const LONG_ROLLOUT_SECONDS = 3600;

/**
 * The add-ons phase, when an add-on runs older than its version for the target: decided from the add-ons'
 * own images in the snapshot, not from whether the control plane moves (after a run stopped past the
 * control plane only they are behind). Its estimate is the policy's `addons` timing, or the DaemonSets'
 * rollouts when they take longer; a rollout of more than an hour comes with a warning.
 */
export function addonsPhase(
  model: ClusterModel,
  target: KubeVersion,
  policy: Policy,
): { phase: PlanPhase; warnings: string[] } | undefined {
  const moves = addonsBehind(model, target);
  if (moves.length === 0) return undefined;
  const podStartup = seconds(policy.timings.podStartup);
  const rollouts = moves.flatMap(({ addon }) => {
    const rollout = addon.kind === 'DaemonSet' ? daemonSetRollout(model, addon) : undefined;
    return rollout ? [{ addon, ...rollout, seconds: rollout.rounds * podStartup }] : [];
  });
  const warnings = rollouts
    .filter((r) => r.seconds > LONG_ROLLOUT_SECONDS)
    .map(
      (r) =>
        `${r.addon.title} rolls out ${r.maxUnavailable} node(s) at a time (its updateStrategy's maxUnavailable): on ${r.nodes} nodes, about ${formatDuration(r.seconds * 1000)} at ${policy.timings.podStartup} a pod; raise maxUnavailable (e.g. to 10%) before the upgrade to shorten the add-ons step`,
    );
  const estimate = Math.max(seconds(policy.timings.addons), ...rollouts.map((r) => r.seconds));
  const v = formatVersion(target);
  const checks = moves.map(({ addon }) =>
    addon.kind === 'DaemonSet'
      ? `${addon.title} DaemonSet rolled out and available on every node`
      : `${addon.title} Deployment rolled out, with every replica available`,
  );
  const addons = phase('addons', 'Add-ons', [
    step({
      id: 'addons',
      kind: 'addons',
      title: `Upgrade ${moves.map((m) => m.addon.title).join(' and ')} for ${v}`,
      reasons: [
        ...moves.map((m) => `${m.addon.title} runs ${m.from}; kubeadm's for ${v} is ${m.to}`),
        'kube-proxy must not be newer than the kubelets, so it moves after the nodes',
      ],
      checks,
      rollback: 'roll the DaemonSet/Deployment back to the previous image (kubectl rollout undo)',
      estimateSeconds: estimate,
    }),
  ]);
  return { phase: addons, warnings };
}

/**
 * How a DaemonSet rolls out: the nodes it runs on, replaced `maxUnavailable` at a time (1 by default; a
 * percentage of the nodes rounds up, as the DaemonSet controller rounds it), so in `rounds` pod start-ups.
 */
function daemonSetRollout(
  model: ClusterModel,
  addon: KubeadmAddon,
): { nodes: number; maxUnavailable: number; rounds: number } | undefined {
  const ds = model.workload(addon.kind, addon.namespace, addon.name);
  const strategy = ds?.spec?.updateStrategy;
  if (!ds || (strategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return undefined;
  const nodes = ds.status?.desiredNumberScheduled ?? 0;
  const maxUnavailable = Math.max(1, scaledValue(strategy?.rollingUpdate?.maxUnavailable ?? 1, nodes, true));
  return { nodes, maxUnavailable, rounds: Math.ceil(nodes / maxUnavailable) };
}
