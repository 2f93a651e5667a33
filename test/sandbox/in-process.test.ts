/**
 * An in-process sandbox (the bench's and a rehearsal's cluster) is handed over settled: every workload Ready
 * and every disruption budget with a status, so the first eviction of whatever runs next is judged by the
 * budget as a real cluster's would be, not refused because the disruption controller has not run yet.
 */
import { request } from 'node:http';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { R } from '../../src/sandbox/api/resources.ts';
import { startInProcess } from '../../src/sandbox/in-process.ts';
import { scenarioFromYaml } from './integration/integration-helpers.ts';

const SCENARIO = scenarioFromYaml(`
name: budgets
kubernetesVersion: v1.31.4
# Pods start bound and Running, as pdb-heavy's: the cluster is settled before its clock has moved at all.
prebindPods: true
controlPlane: { nodes: 1 }
nodePools: [{ name: general, count: 2, capacity: { cpu: "8", memory: 32Gi } }]
workloads:
  - { name: web, namespace: shop, kind: Deployment, replicas: 2, pdb: { maxUnavailable: 1 } }
`);

describe('startInProcess', () => {
  it('hands over a cluster whose budgets have their status: the first eviction goes through', async () => {
    const running = await startInProcess(SCENARIO);
    try {
      const budgets = running.sandbox.ctx.store.list(R.pdbs);
      // The scenario's budget and the system pods' (coredns and the like) all have theirs.
      expect(budgets.filter((b) => b.status?.disruptionsAllowed === undefined)).toEqual([]);
      expect(budgets.find((b) => b.metadata.namespace === 'shop')?.status?.disruptionsAllowed).toBe(1);
      const kc = new KubeConfig();
      kc.loadFromString(running.kubeconfig);
      const core = kc.makeApiClient(CoreV1Api);
      const pod = (await core.listNamespacedPod({ namespace: 'shop' })).items[0]!;
      const name = pod.metadata?.name ?? '';
      await expect(
        core.createNamespacedPodEviction({
          namespace: 'shop',
          name,
          body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { namespace: 'shop', name } },
        }),
      ).resolves.toBeDefined();
    } finally {
      await running.stop();
    }
  });

  it('serves plain HTTP on loopback when asked (a rehearsal), still behind its own token', async () => {
    const running = await startInProcess(SCENARIO, { tls: false });
    try {
      const kc = new KubeConfig();
      kc.loadFromString(running.kubeconfig);
      const server = new URL(kc.getCurrentCluster()!.server);
      expect(server.protocol).toBe('http:');
      expect(server.hostname).toBe('127.0.0.1');
      // A fresh token per sandbox, not a constant another local process could know.
      expect(kc.getCurrentUser()?.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const nodes = await kc.makeApiClient(CoreV1Api).listNode();
      expect(nodes.items.length).toBe(3);
      const status = await new Promise<number | undefined>((resolve, reject) =>
        request(new URL('/api/v1/nodes', server), (res) => {
          res.resume();
          resolve(res.statusCode);
        })
          .on('error', reject)
          .end(),
      );
      expect(status).toBe(401);
    } finally {
      await running.stop();
    }
  });

  it('serves HTTPS by default', async () => {
    const running = await startInProcess(SCENARIO);
    try {
      const kc = new KubeConfig();
      kc.loadFromString(running.kubeconfig);
      expect(kc.getCurrentCluster()?.server).toMatch(/^https:\/\/127\.0\.0\.1:/);
      expect(kc.getCurrentCluster()?.caData).toBeTruthy();
    } finally {
      await running.stop();
    }
  });
});
