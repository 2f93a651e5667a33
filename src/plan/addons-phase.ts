import {
  addonVerdict,
  type ClusterModel,
  formatVersion,
  KUBEADM_ADDONS,
  type KubeVersion,
} from '../core/index.ts';
import { phase, seconds, step } from './plan-parts.ts';
import type { PlanPhase } from './plan-types.ts';
import type { Policy } from './policy.ts';

/**
 * The add-ons phase, when an add-on runs older than its version for the target: decided from the add-ons'
 * own images in the snapshot, not from whether the control plane moves (after a run stopped past the
 * control plane only they are behind).
 */
export function addonsPhase(model: ClusterModel, target: KubeVersion, policy: Policy): PlanPhase | undefined {
  const moves = KUBEADM_ADDONS.flatMap((addon) => {
    const w = model.workload(addon.kind, addon.namespace, addon.name);
    const image = w?.spec?.template?.spec?.containers.find((c) => c.name === addon.container)?.image;
    const verdict = addonVerdict(addon, image, target);
    return verdict.action === 'upgrade' ? [{ addon, ...verdict }] : [];
  });
  if (moves.length === 0) return undefined;
  const v = formatVersion(target);
  const checks = moves.map(({ addon }) =>
    addon.kind === 'DaemonSet'
      ? `${addon.title} DaemonSet rolled out and available on every node`
      : `${addon.title} Deployment rolled out, with every replica available`,
  );
  return phase('addons', 'Add-ons', [
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
      estimateSeconds: seconds(policy.timings.addons),
    }),
  ]);
}
