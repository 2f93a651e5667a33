/** Shared by the surge tests: a pool to replace, its policy, and what the sandbox says about the pool. */
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import { FAST_TIMING, nodes, testPolicy } from './engine-harness.ts';

/** Control plane at the target; a pool of three old workers to replace; a DaemonSet on every node. */
export const SURGE_CLUSTER = `
name: engine-surge
kubernetesVersion: v1.31.2
seed: 21
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 3, version: v1.30.6, capacity: { cpu: "4", memory: 16Gi } }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 3, pdb: { maxUnavailable: 1 } }
  - { name: agent, namespace: kube-system, kind: DaemonSet, tolerations: [{ operator: Exists }] }
${FAST_TIMING}  nodeBootSeconds: 5
`;

export function surgePolicy(overrides: Record<string, unknown> = {}) {
  return testPolicy({
    canary: { nodes: 1, soak: '5s' },
    pools: [{ name: 'general', strategy: 'surge', maxSurge: 1, maxUnavailable: 0 }],
    nodeProvider: { kind: 'sandbox', joinTimeout: '2m' },
    ...overrides,
  });
}

export interface Machine {
  name: string;
  state: string;
  labels: Record<string, string>;
}

export async function machines(sandbox: RunningSandbox): Promise<Machine[]> {
  return (await sandbox.admin<{ items: Machine[] }>('/sandbox/v1/pools/general/nodes')).items;
}

/**
 * Samples the pool every 50 ms (wall) while a run goes: the fewest Ready, schedulable nodes seen, and the
 * most nodes seen at once.
 */
export function watchPool(sandbox: RunningSandbox) {
  const seen = { fewestServing: Number.POSITIVE_INFINITY, most: 0 };
  let timer: NodeJS.Timeout | undefined;
  const poll = async () => {
    try {
      const pool = (await nodes(sandbox)).filter((n) => n.labels['midflight.dev/pool'] === 'general');
      seen.fewestServing = Math.min(
        seen.fewestServing,
        pool.filter((n) => n.ready && !n.unschedulable).length,
      );
      seen.most = Math.max(seen.most, pool.length);
    } catch {}
    timer = setTimeout(poll, 50);
  };
  timer = setTimeout(poll, 0);
  return { seen, stop: () => clearTimeout(timer) };
}
