import {
  ApiException,
  CoreV1Api,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, readJson, seedNamespace, seedNode, seedPod, startHarness } from './harness.ts';

let h: Harness;
let api: CoreV1Api;

beforeEach(async () => {
  h = await startHarness({ historySize: 3 });
  seedNamespace(h.ctx, 'app');
  seedNode(h.ctx, 'n1');
  api = h.kubeConfig().makeApiClient(CoreV1Api);
});
afterEach(() => h.close());

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

async function apiError(promise: Promise<unknown>): Promise<ApiException<string>> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiException) return err as ApiException<string>;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('CoreV1Api', () => {
  it('creates, reads, cordons and lists through the generated client', async () => {
    const created = await api.createNamespacedPod({
      namespace: 'app',
      body: { metadata: { name: 'web' }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
    });
    expect(created.metadata?.uid).toBeDefined();
    expect((await api.readNamespacedPod({ namespace: 'app', name: 'web' })).spec?.restartPolicy).toBe(
      'Always',
    );
    const node = await api.patchNode(
      { name: 'n1', body: { spec: { unschedulable: true } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(node.spec?.unschedulable).toBe(true);
    const jsonPatched = await api.patchNode({
      name: 'n1',
      body: [{ op: 'remove', path: '/spec/unschedulable' }],
    });
    expect(jsonPatched.spec?.unschedulable).toBeUndefined();
    const pods = await api.listPodForAllNamespaces({ fieldSelector: 'metadata.name=web' });
    expect(pods.items.map((p) => p.metadata?.name)).toEqual(['web']);
  });

  it('surfaces Status errors as ApiException with the raw body', async () => {
    const err = await apiError(api.readNamespacedPod({ namespace: 'app', name: 'missing' }));
    expect(err.code).toBe(404);
    expect(JSON.parse(err.body)).toMatchObject({ reason: 'NotFound', message: 'pods "missing" not found' });
  });

  it.each([
    [500, 'InternalError'],
    [429, 'TooManyRequests'],
    [503, 'ServiceUnavailable'],
  ] as const)('shows an injected %i to the client', async (code, reason) => {
    h.ctx.faults.api = { errorRate: 1, errorCode: code, latencyMs: 0, verbs: ['list'] };
    const err = await apiError(api.listNode());
    expect(err.code).toBe(code);
    expect(JSON.parse(err.body).reason).toBe(reason);
    if (code === 429) expect(err.headers['retry-after']).toBe('1');
    expect((await api.readNode({ name: 'n1' })).metadata?.name).toBe('n1');
    h.ctx.faults.api.errorRate = 0;
    expect((await api.listNode()).items).toHaveLength(1);
  });
});

describe('eviction subresource', () => {
  it('evicts a running pod without a budget (201) and maps errors', async () => {
    seedPod(h.ctx, 'app', 'web', { node: 'n1' });
    seedPod(h.ctx, 'app', 'api', { node: 'n1' });
    const res = await h.request('POST', '/api/v1/namespaces/app/pods/web/eviction', {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'web', namespace: 'app' },
    });
    expect(res.status).toBe(201);
    expect(await readJson(res)).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      code: 201,
    });
    await api.createNamespacedPodEviction({
      namespace: 'app',
      name: 'api',
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'api', namespace: 'app' } },
    });
    for (const name of ['web', 'api']) {
      const pod = h.ctx.store.get('pods', 'app', name);
      expect(pod === undefined || pod.metadata.deletionTimestamp !== undefined).toBe(true);
    }

    const mismatch = await h.request('POST', '/api/v1/namespaces/app/pods/web/eviction', {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'other' },
    });
    expect(mismatch.status).toBe(400);
    expect((await readJson(mismatch)).message).toBe('name in URL does not match name in Eviction object');
    const missing = await apiError(
      api.createNamespacedPodEviction({
        namespace: 'app',
        name: 'ghost',
        body: { metadata: { name: 'ghost' } },
      }),
    );
    expect(missing.code).toBe(404);
  });
});

describe('watches and informers', () => {
  it('streams events to Watch and stops on abort', async () => {
    const seen: string[] = [];
    let done = false;
    const controller = await new Watch(h.kubeConfig()).watch(
      '/api/v1/namespaces/app/pods',
      {},
      (type, obj: V1Pod) => seen.push(`${type} ${obj.metadata?.name}`),
      () => {
        done = true;
      },
    );
    seedPod(h.ctx, 'app', 'a');
    await eventually(() => seen.length === 1, 'the ADDED event');
    expect(seen).toEqual(['ADDED a']);
    controller.abort();
    await eventually(() => done, 'the watch to end');
  });

  it('relists when its watch gets 410 Expired', async () => {
    seedPod(h.ctx, 'app', 'a');
    let lists = 0;
    const listFn = async () => {
      lists++;
      const list = await api.listNamespacedPod({ namespace: 'app' });
      // The first list claims a resourceVersion already compacted away, so the watch gets 410 Expired.
      if (lists === 1) list.metadata = { ...list.metadata, resourceVersion: '1' };
      return list;
    };
    for (let i = 0; i < 5; i++) seedPod(h.ctx, 'app', `filler-${i}`);
    const informer = makeInformer(h.kubeConfig(), '/api/v1/namespaces/app/pods', listFn);
    const errors: unknown[] = [];
    informer.on('error', (err) => errors.push(err));
    await informer.start();
    await eventually(() => lists >= 2, 'a relist');
    seedPod(h.ctx, 'app', 'late');
    await eventually(() => informer.get('late', 'app') !== undefined, 'the informer to see a new pod');
    expect(informer.list('app')).toHaveLength(7);
    expect(errors).toEqual([]);
    await informer.stop();
  });
});

describe('TLS', () => {
  it('serves HTTPS with a self-signed certificate that client-node accepts', async () => {
    const secure = await startHarness({ tls: true, token: 't0ken' });
    try {
      expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(secure.caCertPem).toContain('BEGIN CERTIFICATE');
      seedNode(secure.ctx, 'n1');
      const nodes = await secure.kubeConfig().makeApiClient(CoreV1Api).listNode();
      expect(nodes.items.map((n) => n.metadata?.name)).toEqual(['n1']);
    } finally {
      await secure.close();
    }
  });
});
