import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EtcdClient,
  EtcdError,
  type EtcdProcess,
  freeLoopbackPort,
  startEtcd,
} from '../../src/etcd/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { requireBinary } from '../e2e/etcd-harness.ts';
import { rawRequest } from '../e2e/sandbox-harness.ts';
import { type SandboxProcess, startSandboxProcess } from '../e2e/sandbox-process.ts';

const hasEtcd = requireBinary('etcd', 'etcd-server') && requireBinary('etcdctl', 'etcd-client');

async function getJson(kc: KubeConfig, path: string) {
  const res = await rawRequest(kc, 'GET', path);
  return { status: res.status, body: res.json() };
}

/**
 * The key as etcd held it at `revision`: waits (the sandbox writes through to etcd in order, a little
 * behind its answers) until etcd has reached that revision.
 */
async function keyAtRevision(client: EtcdClient, key: string, revision: number) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return (await client.range(key, { revision })).kvs[0];
    } catch (err) {
      const future = err instanceof EtcdError && /future revision/.test(err.message);
      if (!future || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe.skipIf(!hasEtcd)('the sandbox on a real etcd (midflight sandbox start --etcd)', () => {
  let dir: string;
  let etcd: EtcdProcess;
  let restoredEtcd: EtcdProcess | undefined;
  const sandboxes: SandboxProcess[] = [];
  let first: SandboxProcess;
  let frontendBefore: { replicas: number; resourceVersion: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midflight-etcd-sandbox-'));
    etcd = await startEtcd({ name: 'sandbox', dataDir: join(dir, 'etcd') });
    first = await startSandboxProcess({
      scenario: 'demo',
      timeScale: 5,
      dir,
      name: 'first',
      etcd: etcd.clientUrl,
    });
    sandboxes.push(first);
  }, 120_000);

  afterAll(async () => {
    for (const s of sandboxes) await s.stop();
    await etcd?.stop();
    await restoredEtcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('writes the scenario to an empty etcd, each object under its kube-apiserver key at its resourceVersion', async () => {
    expect(first.output).toMatch(
      new RegExp(`^Objects kept in etcd ${etcd.clientUrl}: \\d+ written to it at revision \\d+$`, 'm'),
    );
    const client = etcd.client();
    const cases = [
      ['/apis/apps/v1/namespaces/shop/deployments/frontend', '/registry/deployments/shop/frontend'],
      ['/api/v1/nodes/cp-1', '/registry/minions/cp-1'],
      ['/api/v1/namespaces/kube-system/pods/etcd-cp-1', '/registry/pods/kube-system/etcd-cp-1'],
      ['/api/v1/namespaces/default/services/kubernetes', '/registry/services/specs/default/kubernetes'],
      [
        '/apis/policy/v1/namespaces/shop/poddisruptionbudgets/frontend-pdb',
        '/registry/poddisruptionbudgets/shop/frontend-pdb',
      ],
    ];
    for (const [path, key] of cases) {
      const { status, body } = await getJson(first.kubeConfig(), path!);
      expect(status, path).toBe(200);
      const revision = Number(body.metadata.resourceVersion);
      const kv = await keyAtRevision(client, key!, revision);
      // The object's resourceVersion is the revision etcd wrote it at, and etcd holds the same object.
      expect(kv?.modRevision, key).toBe(revision);
      const stored = JSON.parse(kv!.value);
      expect(stored.metadata.uid).toBe(body.metadata.uid);
      expect(stored.spec).toEqual(body.spec);
      expect(stored.metadata.resourceVersion).toBeUndefined();
    }
    const { storage } = (await getJson(first.kubeConfig(), '/sandbox/v1/summary')).body;
    expect(storage).toMatchObject({ etcd: etcd.clientUrl, persistedRevision: expect.any(Number) });
    expect(storage.failure).toBeUndefined();
  }, 60_000);

  it('is backed up, changed, restored and restarted: it shows the objects of the backup, not the change', async () => {
    const client = etcd.client();
    const frontend = (await getJson(first.kubeConfig(), '/apis/apps/v1/namespaces/shop/deployments/frontend'))
      .body;
    frontendBefore = { replicas: frontend.spec.replicas, resourceVersion: frontend.metadata.resourceVersion };
    await keyAtRevision(
      client,
      '/registry/deployments/shop/frontend',
      Number(frontendBefore.resourceVersion),
    );

    const saved = await runCli('backup', 'save', '--endpoints', etcd.clientUrl, '--to', dir, '-o', 'json');
    expect(saved.stderr).toBe('');
    expect(saved.code).toBe(0);
    const { file } = JSON.parse(saved.stdout);

    // The change after the backup: a deployment scaled and a namespace created, through the API.
    const scaled = await rawRequest(
      first.kubeConfig(),
      'PATCH',
      '/apis/apps/v1/namespaces/shop/deployments/frontend/scale',
      {
        body: { spec: { replicas: frontendBefore.replicas + 2 } },
        headers: { 'content-type': 'application/merge-patch+json' },
      },
    );
    expect(scaled.status).toBe(200);
    const created = await rawRequest(first.kubeConfig(), 'POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'after-backup' } },
    });
    expect(created.status).toBe(201);
    await keyAtRevision(
      client,
      '/registry/namespaces/after-backup',
      Number(created.json().metadata.resourceVersion),
    );

    // SIGTERM: the sandbox stops once etcd holds every write.
    await first.stop();
    expect(await first.exited).toBe(0);
    expect((await client.range('/registry/namespaces/after-backup')).kvs.map((kv) => kv.key)).toEqual([
      '/registry/namespaces/after-backup',
    ]);
    await etcd.stop();

    const dataDir = join(dir, 'restored');
    const clientPort = await freeLoopbackPort();
    const peerPort = await freeLoopbackPort();
    const restore = await runCli(
      'backup',
      'restore',
      file,
      '--data-dir',
      dataDir,
      '--name',
      'restored',
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peerPort}`,
    );
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    restoredEtcd = await startEtcd({ name: 'restored', dataDir, clientPort, peerPort });

    const second = await startSandboxProcess({
      scenario: 'demo',
      timeScale: 5,
      dir,
      name: 'second',
      etcd: restoredEtcd.clientUrl,
    });
    sandboxes.push(second);
    expect(second.output).toMatch(/: \d+ loaded from it at revision \d+$/m);
    expect((await getJson(second.kubeConfig(), '/api/v1/namespaces/after-backup')).status).toBe(404);
    const back = (await getJson(second.kubeConfig(), '/apis/apps/v1/namespaces/shop/deployments/frontend'))
      .body;
    expect(back.metadata.uid).toBe(frontend.metadata.uid);
    expect(back.spec.replicas).toBe(frontendBefore.replicas);
    const pods = (await getJson(second.kubeConfig(), '/api/v1/namespaces/shop/pods')).body;
    expect(pods.items.length).toBeGreaterThan(0);

    // A watch from before the loaded revision cannot be resumed: 410 Expired, as after a compaction.
    const loadedAt = Number(/at revision (\d+)/.exec(second.output)![1]);
    const watch = await rawRequest(
      second.kubeConfig(),
      'GET',
      `/api/v1/namespaces?watch=true&resourceVersion=${loadedAt - 1}`,
    );
    expect(watch.body).toMatch(/"type":"ERROR".*"code":410/);
  }, 180_000);

  it('stops with exit code 1 and the reason when its etcd goes away, rather than serve writes it cannot keep', async () => {
    const second = sandboxes[1]!;
    await restoredEtcd!.kill();
    // The API answers from memory; etcd's failure to take the write then stops the sandbox.
    await rawRequest(second.kubeConfig(), 'POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'after-etcd-died' } },
    }).catch(() => undefined);
    expect(await second.exited).toBe(1);
    expect(second.output).toMatch(
      /error: the sandbox's etcd failed, so the sandbox stopped: etcd http:\/\/127\.0\.0\.1:\d+: /,
    );
  }, 60_000);
});

describe('midflight sandbox start --etcd, refusing what it cannot use', () => {
  it.each([
    {
      url: 'ftp://127.0.0.1:2379',
      code: 2,
      says: /^error: --etcd "ftp:\/\/127\.0\.0\.1:2379" is not an etcd client URL like http:\/\/127\.0\.0\.1:2379/,
    },
    {
      // Port 1 on loopback: nothing listens there.
      url: 'http://127.0.0.1:1',
      code: 1,
      says: /^error: cannot start the sandbox on etcd http:\/\/127\.0\.0\.1:1: etcd http:\/\/127\.0\.0\.1:1: read "\/registry\/" \(a range\): .*ECONNREFUSED/,
    },
  ])(
    '$url: exit $code, saying why, before serving anything',
    async ({ url, code, says }) => {
      const dir = mkdtempSync(join(tmpdir(), 'midflight-etcd-refused-'));
      try {
        const result = await runCli(
          'sandbox',
          'start',
          '--etcd',
          url,
          '--kubeconfig-out',
          join(dir, 'kubeconfig'),
        );
        expect(result.code).toBe(code);
        expect(result.stderr).toMatch(says);
        expect(result.stdout).not.toContain('serving at');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
