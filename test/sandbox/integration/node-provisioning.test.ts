import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSandbox, rawRequest, startSandbox } from '../../e2e/sandbox-harness.ts';
import { eventually, scenarioFromYaml } from './integration-helpers.ts';

const POOLS = scenarioFromYaml(`
name: provisioning
kubernetesVersion: v1.31.4
prebindPods: true
controlPlane: { nodes: 1 }
nodePools:
  - { name: system, count: 1, version: v1.31.4, capacity: { cpu: "8", memory: 32Gi } }
  - name: general
    count: 2
    version: v1.30.8
    capacity: { cpu: "4", memory: 16Gi, pods: "50" }
    labels: { tier: web }
    taints: [{ key: dedicated, value: web, effect: NoSchedule }]
timing:
  nodeBootSeconds: 10
  podStartSeconds: 1
  podReadySeconds: 1
workloads:
  - { name: agent, namespace: kube-system, kind: DaemonSet, tolerations: [{ operator: Exists }] }
  - { name: web, namespace: app, kind: Deployment, replicas: 2, tolerations: [{ operator: Exists }] }
`);

/** Wall ms to wait for a 10 s boot on a clock 20× faster (0.5 s), generous for a loaded machine. */
const JOIN_WAIT_MS = 30_000;

let sandbox: RunningSandbox;
let core: CoreV1Api;

beforeAll(async () => {
  sandbox = await startSandbox({ scenario: POOLS, timeScale: 20 });
  core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
});
afterAll(() => sandbox?.stop());

function createNodes(pool: string, body: unknown) {
  return sandbox.request('POST', `/sandbox/v1/pools/${pool}/nodes`, { body });
}

function patchFaults(body: unknown) {
  return sandbox.request('PATCH', '/sandbox/v1/faults', { body });
}

async function nodeOrUndefined(name: string): Promise<V1Node | undefined> {
  const list = await core.listNode({ fieldSelector: `metadata.name=${name}` });
  return list.items[0];
}

function isReady(node: V1Node | undefined): boolean {
  return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

describe('node creation and deletion through the admin API', () => {
  it('creates nodes from the pool template that register after their boot time and turn Ready', async () => {
    const res = await createNodes('general', { version: 'v1.31.4', count: 2, labels: { 'run-id': 'r1' } });
    expect(res.status).toBe(201);
    const items = res.json().items as Array<{ name: string; state: string }>;
    expect(items.map((m) => [m.name, m.state])).toEqual([
      ['general-3', 'booting'],
      ['general-4', 'booting'],
    ]);
    // Booting: no Node yet.
    expect(await nodeOrUndefined('general-3')).toBeUndefined();
    const node = await eventually(
      async () => {
        const n = await nodeOrUndefined('general-3');
        return isReady(n) && n;
      },
      'general-3 to register and turn Ready',
      JOIN_WAIT_MS,
    );
    expect(node.metadata?.labels).toMatchObject({
      tier: 'web',
      'midflight.dev/pool': 'general',
      'run-id': 'r1',
    });
    expect(node.spec?.taints).toEqual([{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }]);
    expect(node.status?.capacity).toMatchObject({ cpu: '4', pods: '50' });
    expect(node.status?.nodeInfo?.kubeletVersion).toBe('v1.31.4');
    // The DaemonSet follows the new node there, as on a real cluster.
    await eventually(
      async () =>
        (await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=general-3' })).items.length > 0,
      'the DaemonSet pod on general-3',
      JOIN_WAIT_MS,
    );
    const listed = (await sandbox.request('GET', '/sandbox/v1/pools/general/nodes')).json().items;
    expect(listed.find((m: { name: string }) => m.name === 'general-3')).toMatchObject({
      state: 'joined',
      version: 'v1.31.4',
      labels: { 'run-id': 'r1' },
    });
  });

  it('deletes a node with the pods still bound to it, and a machine still booting', async () => {
    await eventually(
      async () => isReady(await nodeOrUndefined('general-4')),
      'general-4 Ready',
      JOIN_WAIT_MS,
    );
    let res = await sandbox.request('DELETE', '/sandbox/v1/nodes/general-4');
    expect(res).toMatchObject({ status: 200 });
    expect(res.json()).toEqual({ name: 'general-4', deleted: 'node' });
    expect(await nodeOrUndefined('general-4')).toBeUndefined();
    expect((await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=general-4' })).items).toEqual(
      [],
    );

    const booting = (await createNodes('general', { version: 'v1.31.4', bootSeconds: 5 })).json().items[0];
    res = await sandbox.request('DELETE', `/sandbox/v1/nodes/${booting.name}`);
    expect(res.json()).toEqual({ name: booting.name, deleted: 'machine' });
    // A node booted alongside, created later, has registered: the deleted machine would have by now.
    const witness = (await createNodes('general', { version: 'v1.31.4', bootSeconds: 5 })).json().items[0];
    await eventually(
      async () => isReady(await nodeOrUndefined(witness.name)),
      'the witness Ready',
      JOIN_WAIT_MS,
    );
    expect(await nodeOrUndefined(booting.name)).toBeUndefined();

    expect((await sandbox.request('DELETE', '/sandbox/v1/nodes/ghost')).status).toBe(404);
    res = await sandbox.request('DELETE', '/sandbox/v1/nodes/cp-1');
    expect(res.status).toBe(409);
    expect(res.json().error).toContain('control-plane');
  });

  it('injects a failed create, a machine that never joins, and a pool quota', async () => {
    expect(
      (await patchFaults({ nodeCreateFailures: { general: 1 }, nodesNeverJoin: { '*': 1 } })).status,
    ).toBe(200);
    let res = await createNodes('general', { version: 'v1.31.4' });
    expect(res.status).toBe(500);
    expect(res.json().error).toContain('injected fault: creating nodes in pool general failed');

    res = await createNodes('general', { version: 'v1.31.4', count: 2 });
    expect(res.status).toBe(201);
    const [lost, joins] = res.json().items as Array<{ name: string; state: string }>;
    expect(lost!.state).toBe('never-joins');
    await eventually(
      async () => isReady(await nodeOrUndefined(joins!.name)),
      'the other new node',
      JOIN_WAIT_MS,
    );
    expect(await nodeOrUndefined(lost!.name)).toBeUndefined();
    expect((await sandbox.request('GET', '/sandbox/v1/faults')).json()).toMatchObject({
      nodeCreateFailures: { general: 0 },
      nodesNeverJoin: { '*': 0 },
    });

    const held = (await core.listNode({ labelSelector: 'midflight.dev/pool=general' })).items.length + 1;
    await patchFaults({ poolQuota: { general: held } });
    res = await createNodes('general', { version: 'v1.31.4' });
    expect(res.status).toBe(409);
    expect(res.json().error).toBe(
      `quota exceeded: pool general holds ${held} node(s) and its quota is ${held}, so 1 more cannot be created`,
    );
    // Deleting the machine that never joined frees its place under the quota.
    await sandbox.request('DELETE', `/sandbox/v1/nodes/${lost!.name}`);
    expect((await createNodes('general', { version: 'v1.31.4', bootSeconds: 1 })).status).toBe(201);
    await patchFaults({ poolQuota: {} });
  });

  it('refuses bad requests with what was wrong, and asks for the token like the rest of the API', async () => {
    let res = await createNodes('gpu', { version: 'v1.31.4' });
    expect(res.status).toBe(404);
    expect(res.json().error).toContain('no node pool "gpu" in this sandbox (pools: system, general)');
    res = await createNodes('general', { version: '1.31' });
    expect(res.status).toBe(400);
    expect(res.json().error).toContain('is not a Kubernetes version');
    res = await createNodes('general', { version: 'v1.31.4', count: 0 });
    expect(res.json().error).toContain('count must be a whole number');
    res = await createNodes('general', { version: 'v1.31.4', size: 3 });
    expect(res).toMatchObject({ status: 400 });
    expect(res.json().error).toContain('unknown field "size"');
    expect((await sandbox.request('PUT', '/sandbox/v1/nodes/general-1')).status).toBe(405);

    const kc = sandbox.kubeConfig();
    Object.assign(kc.getCurrentUser()!, { token: 'wrong' });
    res = await rawRequest(kc, 'POST', '/sandbox/v1/pools/general/nodes', { body: { version: 'v1.31.4' } });
    expect(res.status).toBe(401);
    res = await rawRequest(kc, 'DELETE', '/sandbox/v1/nodes/general-1');
    expect(res.status).toBe(401);
    expect(await nodeOrUndefined('general-1')).toBeDefined();
  });

  it('records every delete, naming the workload pods that went with a node that was not drained', async () => {
    // A worker that runs a web pod (and the DaemonSet's pod, which is not named).
    const web = (await core.listNamespacedPod({ namespace: 'app' })).items;
    const node = web.map((p) => p.spec?.nodeName ?? '').find((n) => n !== '' && !n.startsWith('cp-'))!;
    const onNode = web.filter((p) => p.spec?.nodeName === node).map((p) => `app/${p.metadata?.name}`);
    expect((await sandbox.request('DELETE', `/sandbox/v1/nodes/${node}`)).status).toBe(200);

    const items = (await sandbox.request('GET', '/sandbox/v1/deletions')).json().items as Array<{
      name: string;
      podsLeft: string[];
    }>;
    expect(items.find((d) => d.name === node)).toEqual({
      name: node,
      pool: expect.any(String),
      time: expect.any(String),
      deleted: 'node',
      podsLeft: onNode.sort(),
    });
    // The earlier deletes: a node that held only the DaemonSet's pod, machines that never registered.
    expect(items.find((d) => d.name === 'general-4')).toMatchObject({
      pool: 'general',
      deleted: 'node',
      podsLeft: [],
    });
    expect(items.filter((d) => d.name !== node).every((d) => d.podsLeft.length === 0)).toBe(true);
    expect(items.filter((d) => (d as { deleted?: string }).deleted === 'machine')).toHaveLength(2);
  });

  it('never gives a name twice, not even that of a node the scenario made and that was deleted', async () => {
    // system-1, the pool's only node, is gone (the test above may have deleted it already).
    await sandbox.request('DELETE', '/sandbox/v1/nodes/system-1');
    expect(await nodeOrUndefined('system-1')).toBeUndefined();
    const res = await createNodes('system', { version: 'v1.31.4', bootSeconds: 1 });
    expect(res.json().items.map((m: { name: string }) => m.name)).toEqual(['system-2']);
  });
});
