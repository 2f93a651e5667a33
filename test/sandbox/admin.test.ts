import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RealClock, VirtualClock } from '../../src/core/clock.ts';
import { createAdminHandler } from '../../src/sandbox/admin/admin-handler.ts';
import { buildCluster } from '../../src/sandbox/scenario/build-cluster.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import { NodeUpgrader } from '../../src/sandbox/sim/node-upgrade.ts';
import { FakeRebooter } from './scenario-fake-rebooter.ts';
import { scenarioTestContext } from './scenario-test-context.ts';

const SCENARIO = parseScenario(
  `name: admin
kubernetesVersion: v1.31.4
controlPlane: { nodes: 1 }
nodePools: [{ name: general, count: 2, version: v1.30.8, capacity: { cpu: "4", memory: 16Gi } }]
`,
  'admin.yaml',
);

let server: Server | undefined;
afterEach(() => server?.close());

async function start(clock: VirtualClock | RealClock = new VirtualClock()) {
  const ctx = scenarioTestContext(clock);
  ctx.timing.nodeUpgradeMs = 20;
  ctx.timing.controlPlaneUpgradeMs = 30;
  const rebooter = new FakeRebooter(ctx);
  const { controlPlane } = buildCluster(ctx, SCENARIO, { rebooter });
  const upgrader = new NodeUpgrader(ctx, { rebooter, controlPlane });
  const handler = createAdminHandler({ ctx, scenarioName: 'admin', upgrader, controlPlane });
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!(await handler(req, res, url))) {
      res.writeHead(418);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of several shapes, checked by the assertions.
    const json: any = res.status === 418 ? undefined : await res.json();
    return { status: res.status, body: json };
  };
  return { ctx, call };
}

describe('admin API', () => {
  it('summarises the cluster', async () => {
    const { call } = await start();
    const { status, body } = await call('GET', '/sandbox/v1/summary');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      scenario: 'admin',
      clock: { scale: 'virtual' },
      nodes: {
        total: 3,
        byVersion: { 'v1.30.8': { ready: 2, notReady: 0 }, 'v1.31.4': { ready: 1, notReady: 0 } },
      },
      pods: { byPhase: { Running: 4 } },
      controlPlane: { version: 'v1.31.4' },
      violations: 0,
    });
    expect((await call('GET', '/sandbox/v1/violations')).body).toEqual({ items: [] });
  });

  it('reads, patches and replaces faults, rejecting bad ones with their path', async () => {
    const { ctx, call } = await start();
    let res = await call('PATCH', '/sandbox/v1/faults', {
      upgradeFailures: { 'general-1': 2 },
      api: { errorRate: 0.1 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      upgradeFailures: { 'general-1': 2 },
      api: { errorRate: 0.1, code: 500 },
    });
    expect(ctx.faults.upgradeFailures.get('general-1')).toBe(2);
    res = await call('PATCH', '/sandbox/v1/faults', { nodesNeverReady: ['general-2'] });
    expect(res.body).toMatchObject({ upgradeFailures: { 'general-1': 2 }, nodesNeverReady: ['general-2'] });
    res = await call('PUT', '/sandbox/v1/faults', { ignoreSigterm: ['app=web'] });
    expect(res.body).toMatchObject({ upgradeFailures: {}, nodesNeverReady: [], ignoreSigterm: ['app=web'] });
    res = await call('PATCH', '/sandbox/v1/faults', { api: { errorRate: 2 }, nodesNeverReaddy: [] });
    expect(res.status).toBe(422);
    expect(res.body.error).toContain('api.errorRate: expected a number from 0 to 1, got 2');
    expect(res.body.error).toContain('unknown field "nodesNeverReaddy"');
    expect((await call('GET', '/sandbox/v1/faults')).body.ignoreSigterm).toEqual(['app=web']);
  });

  it('takes the etcd slow-disk and attach-failure faults, and clears them', async () => {
    const { ctx, call } = await start();
    let res = await call('PATCH', '/sandbox/v1/faults', {
      etcdSlowDisk: { '*': 400, 'cp-1': 900 },
      csiAttachFailures: ['fast-ssd'],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      etcdSlowDisk: { '*': 400, 'cp-1': 900 },
      csiAttachFailures: ['fast-ssd'],
    });
    expect(ctx.faults.etcdSlowDisk.get('cp-1')).toBe(900);
    expect(ctx.faults.csiAttachFailures.has('fast-ssd')).toBe(true);
    res = await call('PATCH', '/sandbox/v1/faults', {
      etcdSlowDisk: { '*': -5 },
      csiAttachFailures: 'fast-ssd',
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toContain('etcdSlowDisk["*"]: expected a number ≥ 0, got -5');
    expect(res.body.error).toContain('csiAttachFailures: expected a list, got "fast-ssd"');
    res = await call('PATCH', '/sandbox/v1/faults', { etcdSlowDisk: {}, csiAttachFailures: [] });
    expect(res.body).toMatchObject({ etcdSlowDisk: {}, csiAttachFailures: [] });
    expect(ctx.faults.etcdSlowDisk.size + ctx.faults.csiAttachFailures.size).toBe(0);
  });

  it('upgrades a node, waiting or in the background', async () => {
    const { call } = await start(new RealClock());
    let res = await call('POST', '/sandbox/v1/nodes/general-1/upgrade?wait=true', { version: 'v1.31.4' });
    expect(res).toMatchObject({ status: 200, body: { state: 'succeeded', fromVersion: 'v1.30.8' } });
    res = await call('POST', '/sandbox/v1/nodes/general-2/upgrade', { version: 'v1.31.4' });
    expect(res).toMatchObject({ status: 202, body: { state: 'upgrading' } });
    await new Promise((r) => setTimeout(r, 60));
    res = await call('GET', '/sandbox/v1/nodes/general-2/upgrade');
    expect(res.body.state).toBe('succeeded');
    res = await call('POST', '/sandbox/v1/nodes/general-2/upgrade', { version: 'v1.27.1' });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(/refusing to downgrade .* kubeadm does not downgrade/);
    expect((await call('POST', '/sandbox/v1/nodes/ghost/upgrade', { version: 'v1.31.4' })).status).toBe(404);
    expect((await call('POST', '/sandbox/v1/nodes/general-1/upgrade', {})).status).toBe(400);
  });

  it('reports a failed upgrade as 500 with its message', async () => {
    const { ctx, call } = await start(new RealClock());
    ctx.faults.upgradeFailures.set('general-1', 1);
    const res = await call('POST', '/sandbox/v1/nodes/general-1/upgrade?wait=true', { version: 'v1.31.4' });
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ state: 'failed', message: expect.stringContaining('injected fault') });
  });

  it('advances a virtual clock, and refuses with a real one', async () => {
    const clock = new VirtualClock();
    const { call } = await start(clock);
    const before = clock.now();
    const res = await call('POST', '/sandbox/v1/clock/advance?seconds=90');
    expect(res.status).toBe(200);
    expect(clock.now() - before).toBe(90_000);
    server?.close();
    const real = await start(new RealClock());
    expect((await real.call('POST', '/sandbox/v1/clock/advance?seconds=1')).status).toBe(409);
  });

  it('answers unknown endpoints and methods with JSON errors, and leaves other paths alone', async () => {
    const { call } = await start();
    expect(await call('GET', '/sandbox/v1/nope')).toMatchObject({
      status: 404,
      body: { error: expect.any(String) },
    });
    expect((await call('DELETE', '/sandbox/v1/summary')).status).toBe(405);
    expect((await call('GET', '/api/v1/nodes')).status).toBe(418);
  });
});
