import { COREDNS_BY_MINOR, parseVersion } from '../../core/index.ts';

/**
 * The component versions kubeadm pins per Kubernetes minor (cmd/kubeadm/app/constants), so the images in
 * the sandbox carry the versions a real cluster of that release would.
 */
const ETCD_BY_MINOR: Record<number, string> = {
  26: '3.5.6-0',
  27: '3.5.7-0',
  28: '3.5.9-0',
  29: '3.5.10-0',
  30: '3.5.12-0',
  31: '3.5.15-0',
  32: '3.5.16-0',
  33: '3.5.21-0',
  34: '3.6.4-0',
};

const GO_BY_MINOR: Record<number, string> = {
  26: 'go1.19.13',
  27: 'go1.20.14',
  28: 'go1.21.13',
  29: 'go1.22.12',
  30: 'go1.22.12',
  31: 'go1.22.12',
  32: 'go1.23.6',
  33: 'go1.24.4',
  34: 'go1.24.11',
};

function byMinor(table: Record<number, string>, version: string): string {
  const { minor } = parseVersion(version);
  const known = Object.keys(table).map(Number);
  const nearest = minor < Math.min(...known) ? Math.min(...known) : Math.min(minor, Math.max(...known));
  return table[nearest]!;
}

/** etcd's image tag for a Kubernetes version, e.g. "3.5.15-0" for v1.31.x. */
export function etcdVersionFor(kubernetesVersion: string): string {
  return byMinor(ETCD_BY_MINOR, kubernetesVersion);
}

export function corednsVersionFor(kubernetesVersion: string): string {
  return byMinor(COREDNS_BY_MINOR, kubernetesVersion);
}

export function goVersionFor(kubernetesVersion: string): string {
  return byMinor(GO_BY_MINOR, kubernetesVersion);
}

export const CALICO_VERSION = 'v3.27.4';
export const METRICS_SERVER_VERSION = 'v0.7.2';
export const CSI_HOSTPATH_VERSION = 'v1.15.0';
export const CSI_REGISTRAR_VERSION = 'v2.12.0';
