/**
 * What the kubelet fleet knows of one node's kubelet, shared by the modules that play its parts
 * (node-status-reporter.ts, pod-lifecycle.ts, the fleet itself), and the pod addresses it hands out.
 */
import type { Timer } from '../../core/index.ts';

/** The actor name every part of the kubelet fleet reports its contained errors under. */
export const KUBELET_ACTOR = 'kubelet-fleet';

export interface SimKubelet {
  name: string;
  alive: boolean;
  downSince?: number;
  heartbeat?: Timer;
  restart?: { timer: Timer; waiters: Array<() => void> };
  /** "10.128.3." — pod IPs are this plus a host octet. */
  podNet: string;
  usedOctets: Set<number>;
  nextOctet: number;
  /** Images on the node (or being pulled), by when they are there. */
  images: Map<string, number>;
  /** Images the node had when the sandbox started (shared by those nodes); gone after a reimaging reboot. */
  bootImages?: ReadonlySet<string>;
  /** spec.unschedulable as the kubelet last reported it in an Event. */
  unschedulable: boolean;
}

/** A free address in the node's /24; past 253 live pods addresses are reused (real nodes cap pods at 110). */
export function allocatePodIP(kubelet: SimKubelet): string {
  for (let tries = 0; tries < 253; tries++) {
    const octet = kubelet.nextOctet;
    kubelet.nextOctet = octet >= 254 ? 2 : octet + 1;
    if (!kubelet.usedOctets.has(octet)) {
      kubelet.usedOctets.add(octet);
      return kubelet.podNet + octet;
    }
  }
  return kubelet.podNet + kubelet.nextOctet;
}

/** Marks `ip` taken (a pod the kubelet finds running) or free again (a pod gone); other networks' are ignored. */
export function markPodIP(kubelet: SimKubelet, ip: string | undefined, used: boolean): void {
  if (!ip?.startsWith(kubelet.podNet)) return;
  const octet = Number(ip.slice(kubelet.podNet.length));
  if (used) kubelet.usedOctets.add(octet);
  else kubelet.usedOctets.delete(octet);
}
