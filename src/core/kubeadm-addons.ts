/**
 * The add-ons kubeadm moves with the control plane: kube-proxy (at the Kubernetes version) and CoreDNS (at
 * the version kubeadm pins for the minor). The planner asks here from a snapshot's images and the engine
 * from the live cluster's, so both decide the same way which add-on moves, and to what.
 *
 * Note: the decision is made from the add-on's own image, not from whether the control plane moves: after
 * a run stopped past the control plane, the add-ons are behind while the control plane is already at the
 * target, and only their versions say so.
 */
import type { ClusterModel } from './cluster-model.ts';
import {
  COREDNS_BY_MINOR,
  compareVersions,
  formatVersion,
  type KubeVersion,
  tryParseVersion,
  versionFromImage,
} from './versions.ts';

export interface KubeadmAddon {
  kind: 'DaemonSet' | 'Deployment';
  namespace: 'kube-system';
  name: string;
  container: string;
  /** How it is named to a person. */
  title: string;
}

export const KUBEADM_ADDONS: readonly KubeadmAddon[] = [
  {
    kind: 'DaemonSet',
    namespace: 'kube-system',
    name: 'kube-proxy',
    container: 'kube-proxy',
    title: 'kube-proxy',
  },
  { kind: 'Deployment', namespace: 'kube-system', name: 'coredns', container: 'coredns', title: 'CoreDNS' },
];

/** The CoreDNS version kubeadm pins for a Kubernetes version; undefined for a minor the table lacks. */
export function corednsVersionFor(v: KubeVersion): string | undefined {
  return v.major === 1 ? COREDNS_BY_MINOR[v.minor] : undefined;
}

/** The image tag the add-on runs at Kubernetes `target`; undefined when it is not known. */
export function addonTagFor(addon: KubeadmAddon, target: KubeVersion): string | undefined {
  return addon.name === 'kube-proxy' ? formatVersion(target) : corednsVersionFor(target);
}

/** `registry.k8s.io/coredns/coredns:v1.11.1` with tag v1.11.3 → `registry.k8s.io/coredns/coredns:v1.11.3`. */
export function withTag(image: string, tag: string): string {
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const colon = ref.lastIndexOf(':');
  const repo = colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
  return `${repo}:${tag}`;
}

export type AddonVerdict =
  | { action: 'upgrade'; from: string; to: string; image: string }
  | { action: 'keep'; reason: string };

/**
 * Whether the add-on running `image` (undefined: not in the cluster) must move for Kubernetes `target`.
 * Only forwards: an add-on at or past its version for the target is kept, and so is one whose version
 * cannot be read (a digest, a custom tag) — it is someone else's to manage.
 */
export function addonVerdict(
  addon: KubeadmAddon,
  image: string | undefined,
  target: KubeVersion,
): AddonVerdict {
  const where = `${addon.kind} ${addon.namespace}/${addon.name}`;
  if (!image) return { action: 'keep', reason: `${where} not found (a managed add-on?)` };
  const tag = addonTagFor(addon, target);
  if (!tag) return { action: 'keep', reason: `no known ${addon.title} version for ${formatVersion(target)}` };
  const current = versionFromImage(image);
  if (!current) return { action: 'keep', reason: `${where} runs ${image}, whose version cannot be read` };
  if (compareVersions(current, tryParseVersion(tag)!) >= 0)
    return { action: 'keep', reason: `${where} already runs ${image}` };
  return { action: 'upgrade', from: formatVersion(current), to: tag, image: withTag(image, tag) };
}

/** The add-ons of `model` (a snapshot's workloads) that must move for `target`, with their verdicts. */
export function addonsBehind(
  model: Pick<ClusterModel, 'workload'>,
  target: KubeVersion,
): Array<{ addon: KubeadmAddon } & Extract<AddonVerdict, { action: 'upgrade' }>> {
  return KUBEADM_ADDONS.flatMap((addon) => {
    const w = model.workload(addon.kind, addon.namespace, addon.name);
    const image = w?.spec?.template?.spec?.containers.find((c) => c.name === addon.container)?.image;
    const verdict = addonVerdict(addon, image, target);
    return verdict.action === 'upgrade' ? [{ addon, ...verdict }] : [];
  });
}
