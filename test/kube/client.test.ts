import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeconfigError, loadKubeConfig, requestRaw, SERVICE_ACCOUNT_TOKEN } from '../../src/kube/client.ts';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://example.test:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
`;

describe('loadKubeConfig: where the kubeconfig comes from', () => {
  const saved = { HOME: process.env.HOME, KUBECONFIG: process.env.KUBECONFIG };
  let home: string;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'midflight-home-'));
    process.env.HOME = home;
    delete process.env.KUBECONFIG;
  });

  afterEach(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(home, { recursive: true, force: true });
  });

  it.skipIf(existsSync(SERVICE_ACCOUNT_TOKEN))(
    'refuses, naming what it looked for, when there is no kubeconfig at all (not localhost:8080)',
    () => {
      const load = () => loadKubeConfig({});
      expect(load).toThrow(KubeconfigError);
      expect(load).toThrow(
        `no kubeconfig: set KUBECONFIG, pass --kubeconfig FILE, or create ~/.kube/config (${join(home, '.kube', 'config')} does not exist, and this is not a pod with a service account)`,
      );
    },
  );

  it('reads ~/.kube/config when it exists', () => {
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, '.kube', 'config'), KUBECONFIG);
    expect(loadKubeConfig({}).getCurrentCluster()?.server).toBe('https://example.test:6443');
  });

  it('reads $KUBECONFIG, and the fallback only when neither it nor --kubeconfig is given', () => {
    const file = join(home, 'kc');
    writeFileSync(file, KUBECONFIG);
    expect(loadKubeConfig({}, file).getCurrentCluster()?.server).toBe('https://example.test:6443');
    process.env.KUBECONFIG = file;
    expect(loadKubeConfig({}, join(home, 'unused')).getCurrentCluster()?.server).toBe(
      'https://example.test:6443',
    );
  });

  it('merges a $KUBECONFIG list as kubectl does: missing files skipped, the first file to set a name wins', () => {
    const first = join(home, 'first');
    const second = join(home, 'second');
    writeFileSync(first, KUBECONFIG);
    writeFileSync(
      second,
      `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://other.test:6443"}}, {name: d, cluster: {server: "https://d.test:6443"}}]
users: [{name: u, user: {token: other}}]
contexts: [{name: ctx, context: {cluster: d, user: u}}, {name: dctx, context: {cluster: d, user: u}}]
current-context: dctx
`,
    );
    process.env.KUBECONFIG = [join(home, 'missing'), first, second].join(delimiter);
    const kc = loadKubeConfig({});
    expect(kc.getCurrentContext()).toBe('ctx');
    expect(kc.getCurrentCluster()?.server).toBe('https://example.test:6443');
    expect(loadKubeConfig({ context: 'dctx' }).getCurrentCluster()?.server).toBe('https://d.test:6443');
  });

  it('names the $KUBECONFIG files when none of them exists', () => {
    const missing = [join(home, 'a'), join(home, 'b')];
    process.env.KUBECONFIG = missing.join(delimiter);
    expect(() => loadKubeConfig({})).toThrow(
      `no kubeconfig: none of the files in KUBECONFIG exists (${missing.join(', ')})`,
    );
  });

  it('names a --kubeconfig file that does not exist', () => {
    const missing = join(home, 'nope');
    expect(() => loadKubeConfig({ kubeconfig: missing })).toThrow(`kubeconfig ${missing} does not exist`);
  });
});

describe('requestRaw: where a request goes', () => {
  // A cluster behind a proxy (Rancher's /k8s/clusters/<id>, a gateway's prefix) has a path in its server URL.
  it.each([
    ['http://127.0.0.1:PORT/k8s/clusters/c-1', '/k8s/clusters/c-1/api/v1/nodes?limit=1'],
    ['http://127.0.0.1:PORT/k8s/clusters/c-1/', '/k8s/clusters/c-1/api/v1/nodes?limit=1'],
    ['http://127.0.0.1:PORT', '/api/v1/nodes?limit=1'],
  ])('keeps the path of the server URL %s', async (server, expected) => {
    const seen: string[] = [];
    const http = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end('{}');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = http.address() as AddressInfo;
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: server.replace('PORT', String(port)), skipTLSVerify: true }],
        users: [{ name: 'u', token: 't' }],
        contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
        currentContext: 'ctx',
      });
      const answer = await requestRaw(kc, 'GET', '/api/v1/nodes?limit=1');
      expect(answer.status).toBe(200);
      expect(seen).toEqual([expected]);
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
