import { cpuMillis, quantityOrZero } from '../../core/index.ts';
import type { KubeObject } from '../store/types.ts';

export interface PodRequests {
  cpuMillis: number;
  memoryBytes: number;
}

interface Container {
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

/**
 * What a pod asks of a node, as the scheduler's NodeResourcesFit computes it: the sum over containers,
 * at least the largest init container (they run one at a time, before the others), plus pod overhead.
 * A limit without a request counts as the request, as API defaulting makes it.
 */
export function podRequests(pod: KubeObject): PodRequests {
  const sum: PodRequests = { cpuMillis: 0, memoryBytes: 0 };
  for (const c of (pod.spec?.containers ?? []) as Container[]) add(sum, containerRequests(c));
  for (const c of (pod.spec?.initContainers ?? []) as Container[]) {
    const init = containerRequests(c);
    sum.cpuMillis = Math.max(sum.cpuMillis, init.cpuMillis);
    sum.memoryBytes = Math.max(sum.memoryBytes, init.memoryBytes);
  }
  const overhead: Record<string, string> | undefined = pod.spec?.overhead;
  if (overhead) add(sum, { cpuMillis: cpuOf(overhead.cpu), memoryBytes: bytesOf(overhead.memory) });
  return sum;
}

function containerRequests(c: Container): PodRequests {
  const requests = c.resources?.requests ?? {};
  const limits = c.resources?.limits ?? {};
  return {
    cpuMillis: cpuOf(requests.cpu ?? limits.cpu),
    memoryBytes: bytesOf(requests.memory ?? limits.memory),
  };
}

function add(into: PodRequests, more: PodRequests): void {
  into.cpuMillis += more.cpuMillis;
  into.memoryBytes += more.memoryBytes;
}

// Note: a malformed quantity counts as zero: the API server would have rejected it, so it only reaches here
// in objects written behind its back, and must not crash the simulation.
function cpuOf(q: string | undefined): number {
  return cpuMillis(q);
}

function bytesOf(q: string | undefined): number {
  return Math.ceil(quantityOrZero(q) - 1e-9);
}
