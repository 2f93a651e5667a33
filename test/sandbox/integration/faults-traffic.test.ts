import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSandbox, startSandbox } from '../../e2e/sandbox-harness.ts';
import { apiError, eventually } from './integration-helpers.ts';

let sandbox: RunningSandbox;
let core: CoreV1Api;

beforeAll(async () => {
  sandbox = await startSandbox({ scenario: 'demo', timeScale: 50 });
  core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
});
afterAll(() => sandbox?.stop());

function patchFaults(body: unknown) {
  return sandbox.request('PATCH', '/sandbox/v1/faults', { body });
}

describe('API faults set at run time', () => {
  it.each([500, 429] as const)('makes client calls fail with %i until cleared', async (code) => {
    const set = await patchFaults({ api: { errorRate: 1, code } });
    expect(set.status, set.body).toBe(200);
    try {
      const err = await apiError(core.listNode());
      expect(err.code).toBe(code);
      expect(JSON.parse(err.body)).toMatchObject({ kind: 'Status', status: 'Failure', code });
      if (code === 429) expect(Number(err.headers['retry-after'])).toBeGreaterThan(0);
      // The admin API is how a test gets out of a fault: it is never faulted itself.
      const summary = await sandbox.request('GET', '/sandbox/v1/summary');
      expect(summary.status).toBe(200);
    } finally {
      const cleared = await patchFaults({ api: { errorRate: 0 } });
      expect(cleared.status, cleared.body).toBe(200);
    }
    expect((await core.listNode()).items).toHaveLength(10);
  });
});

/** `http_requests_total` per `code` for one service, read from /metrics. */
async function requestCounts(namespace: string, service: string): Promise<Record<string, number>> {
  const res = await sandbox.request('GET', '/metrics', { headers: { accept: 'text/plain' } });
  expect(res.status).toBe(200);
  const counts: Record<string, number> = {};
  for (const line of res.body.split('\n')) {
    if (!line.startsWith('http_requests_total{')) continue;
    if (!line.includes(`namespace="${namespace}"`) || !line.includes(`service="${service}"`)) continue;
    const code = /code="(\d+)"/.exec(line)?.[1];
    if (code) counts[code] = Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return counts;
}

async function errorsDuring(ms: number): Promise<number> {
  const before = (await requestCounts('shop', 'cart'))['500'] ?? 0;
  await new Promise((r) => setTimeout(r, ms));
  return ((await requestCounts('shop', 'cart'))['500'] ?? 0) - before;
}

describe('synthetic traffic', () => {
  it('counts requests per demo service, and errors grow once a service has no ready replica', async () => {
    const served = await eventually(async () => {
      const counts = await requestCounts('shop', 'cart');
      return (counts['200'] ?? 0) > 0 ? counts : undefined;
    }, 'cart to serve requests');
    expect(served['200']).toBeGreaterThan(0);

    // 600 ms of wall time is 30 s of cluster time at ×50: about 1,800 requests to cart (60 rps).
    const healthyErrors = await errorsDuring(600);
    const apps = sandbox.kubeConfig().makeApiClient(AppsV1Api);
    await apps.patchNamespacedDeploymentScale(
      { namespace: 'shop', name: 'cart', body: { spec: { replicas: 0 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(async () => (await errorsDuring(100)) > 0, 'cart to answer with errors');
    const outageErrors = await errorsDuring(600);
    expect(outageErrors).toBeGreaterThan(healthyErrors + 500);
  });
});
