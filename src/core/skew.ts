/**
 * The Kubernetes version skew policy as data and predicates
 * (https://kubernetes.io/releases/version-skew-policy/).
 *
 * Note: every rule is stated against the SET of apiservers: a component may not be newer than the oldest
 * apiserver, and may not be older than the newest apiserver minus its allowance. That is how skew between
 * HA apiservers narrows what kubelets may be.
 */
import { formatMinor, type KubeVersion } from './versions.ts';

export const SKEW_COMPONENTS = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'cloud-controller-manager',
  'kubelet',
  'kube-proxy',
] as const;
export type SkewComponent = (typeof SKEW_COMPONENTS)[number];

/** How many minors a component may lag behind the apiservers. */
export function minorsBehindAllowed(component: SkewComponent, componentVersion: KubeVersion): number {
  switch (component) {
    case 'kube-apiserver':
    case 'kube-controller-manager':
    case 'kube-scheduler':
    case 'cloud-controller-manager':
      return 1;
    case 'kubelet':
    case 'kube-proxy':
      // Note: the allowance depends on the component's own version: a 1.24 kubelet may lag only 2 minors.
      return componentVersion.major === 1 && componentVersion.minor < 25 ? 2 : 3;
  }
}

function minorNumber(v: KubeVersion): number {
  return v.major * 1000 + v.minor;
}

/**
 * Why `version` of `component` breaks the policy against these apiservers, or undefined when it is allowed.
 * For 'kube-apiserver' the version is checked against the other apiservers (newest and oldest within 1).
 */
export function skewViolation(
  component: SkewComponent,
  version: KubeVersion,
  apiservers: readonly KubeVersion[],
): string | undefined {
  if (apiservers.length === 0) return undefined;
  const minors = apiservers.map(minorNumber);
  const oldest = Math.min(...minors);
  const newest = Math.max(...minors);
  const own = minorNumber(version);
  const fmt = (m: number) => `1.${m % 1000}`;
  if (component === 'kube-apiserver') {
    const spread = Math.max(newest, own) - Math.min(oldest, own);
    return spread > 1
      ? `apiservers span ${fmt(Math.min(oldest, own))}–${fmt(Math.max(newest, own))}; HA apiservers must be within 1 minor`
      : undefined;
  }
  if (own > oldest) {
    return `${component} ${formatMinor(version)} is newer than the apiserver ${fmt(oldest)}; it must not be newer`;
  }
  const allowed = minorsBehindAllowed(component, version);
  if (newest - own > allowed) {
    return (
      `${component} ${formatMinor(version)} is ${newest - own} minors behind the apiserver ${fmt(newest)};` +
      ` at most ${allowed} allowed`
    );
  }
  return undefined;
}

/** kube-proxy must also stay within the same allowance of the kubelet on its node. */
export function kubeProxyKubeletViolation(proxy: KubeVersion, kubelet: KubeVersion): string | undefined {
  const allowed = minorsBehindAllowed('kube-proxy', proxy.minor < kubelet.minor ? proxy : kubelet);
  const distance = Math.abs(minorNumber(proxy) - minorNumber(kubelet));
  return distance > allowed
    ? `kube-proxy ${formatMinor(proxy)} and kubelet ${formatMinor(kubelet)} are ${distance} minors apart; at most ${allowed}`
    : undefined;
}

/**
 * The oldest kubelet minor an apiserver at `apiserver` accepts. Example: apiserver 1.28 → kubelet 1.25
 * (3 behind); apiserver 1.26 → 1.24 would be 2 behind and a 1.24 kubelet may lag only 2, so 1.24.
 */
export function oldestKubeletMinorFor(apiserver: KubeVersion): number {
  for (let minor = apiserver.minor - 3; minor <= apiserver.minor; minor++) {
    const kubelet: KubeVersion = { major: apiserver.major, minor, patch: 0, suffix: '' };
    if (!skewViolation('kubelet', kubelet, [apiserver])) return minor;
  }
  return apiserver.minor;
}
