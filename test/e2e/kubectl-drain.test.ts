import { CoreV1Api, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSandbox, startSandbox } from './sandbox-harness.ts';

interface PodRow {
  namespace: string;
  name: string;
  node: string;
  ownerKind?: string;
  ready: boolean;
}

async function podsOf(sandbox: RunningSandbox): Promise<PodRow[]> {
  const core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
  const list = await core.listPodForAllNamespaces();
  return list.items.map((p) => ({
    namespace: p.metadata!.namespace!,
    name: p.metadata!.name!,
    node: p.spec?.nodeName ?? '',
    ownerKind: p.metadata?.ownerReferences?.find((o) => o.controller)?.kind,
    ready: Boolean(p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')),
  }));
}

describe('kubectl and client-node against the sandbox', () => {
  let sandbox: RunningSandbox;

  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('lists nodes with their status, roles and versions', async () => {
    const { stdout, code, stderr } = await sandbox.kubectl('get', 'nodes');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
    expect(lines.length - 1).toBe(10);
    expect(stdout).toMatch(/cp-1\s+Ready\s+control-plane\s+\S+\s+v1\.\d+\.\d+/);
  });

  it('describes a node, as kubectl users read it', async () => {
    const { stdout, code } = await sandbox.kubectl('describe', 'node', 'cp-1');
    expect(code).toBe(0);
    expect(stdout).toContain('Roles:              control-plane');
    expect(stdout).toMatch(/Kubelet Version:\s+v1\./);
    expect(stdout).toContain('kube-apiserver-cp-1');
  });

  it('drains a worker with kubectl: its pods come back on other nodes and no budget is broken', async () => {
    const before = await podsOf(sandbox);
    // A worker that holds budgeted, replicated pods and no bare pod (kubectl drain refuses those without --force).
    const workers = [...new Set(before.map((p) => p.node))].filter((n) => n && !n.startsWith('cp-'));
    const node = workers.find(
      (n) =>
        !before.some((p) => p.node === n && !p.ownerKind) &&
        before.some((p) => p.node === n && p.ownerKind === 'ReplicaSet'),
    );
    expect(node, 'a worker suitable for draining').toBeDefined();
    const evicted = before.filter((p) => p.node === node && p.ownerKind !== 'DaemonSet');
    expect(evicted.length).toBeGreaterThan(0);

    const drain = await sandbox.kubectl(
      'drain',
      node!,
      '--ignore-daemonsets',
      '--delete-emptydir-data',
      '--timeout=120s',
    );
    // Note: kubectl may print "error when evicting … (will retry after 5s)" while a budget holds it back;
    // that is the budget working, and the drain still completes.
    expect(drain.code, drain.stderr).toBe(0);
    expect(drain.stdout).toContain(`node/${node} drained`);

    await sandbox.box.waitUntilSettled();
    const after = await podsOf(sandbox);
    expect(after.filter((p) => p.node === node && p.ownerKind !== 'DaemonSet')).toEqual([]);
    // Every evicted pod's workload is whole again, elsewhere.
    const perWorkload = (rows: PodRow[]) => {
      const counts = new Map<string, number>();
      for (const p of rows) {
        if (p.ownerKind === 'DaemonSet' || !p.ready) continue;
        const key = `${p.namespace}/${p.name.replace(/-[a-z0-9]{5}$/, '').replace(/-[a-z0-9]{8,10}$/, '')}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return counts;
    };
    const countsBefore = perWorkload(before);
    const countsAfter = perWorkload(after);
    for (const p of evicted) {
      const key = `${p.namespace}/${p.name.replace(/-[a-z0-9]{5}$/, '').replace(/-[a-z0-9]{8,10}$/, '')}`;
      expect(countsAfter.get(key), key).toBe(countsBefore.get(key));
    }
    const nodeObj = await sandbox.kubectl('get', 'node', node!, '-o', 'jsonpath={.spec.unschedulable}');
    expect(nodeObj.stdout).toBe('true');

    const violations = await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations');
    expect(violations.items).toEqual([]);

    const uncordon = await sandbox.kubectl('uncordon', node!);
    expect(uncordon.code).toBe(0);
    const schedulable = await sandbox.kubectl('get', 'node', node!, '-o', 'jsonpath={.spec.unschedulable}');
    expect(schedulable.stdout).toBe('');
  });

  it('feeds a client-node informer that sees pods come and go', async () => {
    const kc = sandbox.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1Pod>(kc, '/api/v1/namespaces/shop/pods', () =>
      core.listNamespacedPod({ namespace: 'shop' }),
    );
    const added: string[] = [];
    const deleted: string[] = [];
    informer.on('add', (p) => added.push(p.metadata!.name!));
    informer.on('delete', (p) => deleted.push(p.metadata!.name!));
    await informer.start();
    try {
      const initial = added.length;
      expect(initial).toBeGreaterThan(0);
      const victim = informer.list()[0]!.metadata!.name!;
      await core.deleteNamespacedPod({ name: victim, namespace: 'shop' });
      await sandbox.box.waitUntilSettled();
      await new Promise((r) => setTimeout(r, 200));
      expect(deleted).toContain(victim);
      expect(added.length).toBeGreaterThan(initial);
    } finally {
      await informer.stop();
    }
  });
});
