import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, readJson, seedNamespace, seedNode, seedPod, startHarness } from './harness.ts';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  seedNamespace(h.ctx, 'app');
  seedNode(h.ctx, 'n1');
});
afterEach(() => h.close());

const SMP = { 'Content-Type': 'application/strategic-merge-patch+json' };
const MERGE = { 'Content-Type': 'application/merge-patch+json' };
const JSON_PATCH = { 'Content-Type': 'application/json-patch+json' };

async function patch(path: string, body: unknown, headers: Record<string, string>) {
  const res = await h.request('PATCH', path, body, headers);
  return { status: res.status, body: await readJson(res) };
}

describe('node cordon and uncordon', () => {
  it.each([
    ['strategic merge', SMP],
    ['merge', MERGE],
  ])('cordons with a %s patch and removes the field on uncordon', async (_, headers) => {
    const cordoned = await patch('/api/v1/nodes/n1', { spec: { unschedulable: true } }, headers);
    expect(cordoned.body.spec.unschedulable).toBe(true);
    const uncordoned = await patch('/api/v1/nodes/n1', { spec: { unschedulable: null } }, headers);
    expect(uncordoned.status).toBe(200);
    expect(uncordoned.body.spec).not.toHaveProperty('unschedulable');
    expect(h.ctx.store.get('nodes', undefined, 'n1')?.spec).toEqual({});
  });

  it('applies a JSON patch with a passing test and rejects a failing one', async () => {
    const ok = await patch(
      '/api/v1/nodes/n1',
      [
        { op: 'test', path: '/metadata/name', value: 'n1' },
        { op: 'add', path: '/spec/unschedulable', value: true },
        { op: 'add', path: '/metadata/labels/zone', value: 'a' },
      ],
      JSON_PATCH,
    );
    expect(ok.status).toBe(200);
    expect(ok.body.metadata.labels.zone).toBe('a');
    const failed = await patch(
      '/api/v1/nodes/n1',
      [{ op: 'test', path: '/metadata/name', value: 'other' }],
      JSON_PATCH,
    );
    expect(failed.status).toBe(422);
    expect(failed.body).toMatchObject({ kind: 'Status', code: 422 });
  });
});

describe('strategic merge patch', () => {
  beforeEach(() => {
    h.ctx.store.create('pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'app', finalizers: ['a/x'] },
      spec: {
        containers: [
          { name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80 }] },
          { name: 'sidecar', image: 'side:1' },
        ],
        tolerations: [{ key: 'k', operator: 'Exists' }],
      },
      status: {
        conditions: [
          { type: 'Ready', status: 'False' },
          { type: 'Initialized', status: 'True' },
        ],
      },
    });
  });

  it('merges lists by their merge keys', async () => {
    const containers = [
      { name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80 }] },
      { name: 'sidecar', image: 'side:1' },
    ];
    h.ctx.store.create('apps/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', namespace: 'app' },
      spec: {
        selector: { matchLabels: { app: 'd' } },
        template: { metadata: { labels: { app: 'd' } }, spec: { containers } },
      },
    });
    const res = await patch(
      '/apis/apps/v1/namespaces/app/deployments/d',
      {
        spec: {
          template: {
            spec: { containers: [{ name: 'app', image: 'app:2', env: [{ name: 'B', value: '2' }] }] },
          },
        },
      },
      SMP,
    );
    expect(res.status).toBe(200);
    const [app, sidecar] = res.body.spec.template.spec.containers;
    expect(app.image).toBe('app:2');
    expect(app.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    expect(app.ports).toEqual([{ containerPort: 80 }]);
    expect(sidecar.name).toBe('sidecar');
    expect(res.body.metadata.generation).toBe(2);
  });

  it('forbids pod spec changes other than images', async () => {
    const res = await patch(
      '/api/v1/namespaces/app/pods/p',
      { spec: { containers: [{ name: 'app', env: [{ name: 'C', value: '3' }] }] } },
      SMP,
    );
    expect(res.status).toBe(422);
    const image = await patch(
      '/api/v1/namespaces/app/pods/p',
      { spec: { containers: [{ name: 'app', image: 'app:2' }] } },
      SMP,
    );
    expect(image.status).toBe(200);
  });

  it('deletes a list item with $patch: delete and merges finalizers as a set', async () => {
    const res = await patch(
      '/api/v1/namespaces/app/pods/p/status',
      { status: { conditions: [{ type: 'Ready', $patch: 'delete' }] } },
      SMP,
    );
    expect(res.body.status.conditions).toEqual([{ type: 'Initialized', status: 'True' }]);
    const fin = await patch(
      '/api/v1/namespaces/app/pods/p',
      { metadata: { finalizers: ['a/y', 'a/x'] } },
      SMP,
    );
    expect(fin.body.metadata.finalizers).toEqual(['a/x', 'a/y']);
    const removed = await patch(
      '/api/v1/namespaces/app/pods/p',
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['a/x'] } },
      SMP,
    );
    expect(removed.body.metadata.finalizers).toEqual(['a/y']);
  });

  it('replaces lists without a merge key and honours $patch: replace', async () => {
    const tol = await patch(
      '/api/v1/namespaces/app/pods/p',
      { spec: { tolerations: [{ key: 'other', operator: 'Exists' }] } },
      SMP,
    );
    expect(tol.body.spec.tolerations).toEqual([{ key: 'other', operator: 'Exists' }]);
    const labels = await patch(
      '/api/v1/nodes/n1',
      { metadata: { labels: { only: 'this', $patch: 'replace' } } },
      SMP,
    );
    expect(labels.body.metadata.labels).toEqual({ only: 'this' });
  });

  it('only writes status through the status subresource', async () => {
    const res = await patch('/api/v1/namespaces/app/pods/p', { status: { phase: 'Running' } }, MERGE);
    expect(res.body.status.phase).toBeUndefined();
    const sub = await patch(
      '/api/v1/namespaces/app/pods/p/status',
      { status: { phase: 'Running' }, spec: { nodeName: 'x' } },
      MERGE,
    );
    expect(sub.body.status.phase).toBe('Running');
    expect(sub.body.spec.nodeName).toBeUndefined();
  });
});

describe('bad patches', () => {
  it.each([
    ['malformed JSON', '{"spec":', SMP, 400],
    ['a JSON patch that is not a list', { op: 'add' }, JSON_PATCH, 422],
    ['a JSON patch at a missing path', [{ op: 'replace', path: '/nope/x', value: 1 }], JSON_PATCH, 422],
    ['a merge patch that is a list', [1, 2], MERGE, 400],
    ['an unknown $patch directive', { metadata: { labels: { $patch: 'explode' } } }, SMP, 400],
    ['an unsupported media type', { spec: {} }, { 'Content-Type': 'application/json' }, 415],
  ])('answers %s with a Status and keeps serving', async (_, body, headers, code) => {
    const res = await patch('/api/v1/nodes/n1', body, headers);
    expect(res.status).toBe(code);
    expect(res.body).toMatchObject({ kind: 'Status', status: 'Failure', code });
    expect((await h.request('GET', '/api/v1/nodes/n1')).status).toBe(200);
  });

  it('refuses to rename an object or change its uid', async () => {
    const rename = await patch('/api/v1/nodes/n1', { metadata: { name: 'n2' } }, MERGE);
    expect(rename.status).toBe(400);
    const uid = await patch('/api/v1/nodes/n1', { metadata: { uid: 'other' } }, MERGE);
    expect(uid.status).toBe(409);
  });

  it('checks a resourceVersion given in a patch', async () => {
    const stale = await patch(
      '/api/v1/nodes/n1',
      { metadata: { resourceVersion: '1' }, spec: { unschedulable: true } },
      MERGE,
    );
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe('Conflict');
  });
});

describe('server-side apply', () => {
  const APPLY = { 'Content-Type': 'application/apply-patch+yaml' };
  const manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: "1"\n';

  it('requires a fieldManager, creates when absent and merges after', async () => {
    const missing = await patch('/api/v1/namespaces/app/configmaps/cfg', manifest, APPLY);
    expect(missing.status).toBe(422);
    const created = await patch('/api/v1/namespaces/app/configmaps/cfg?fieldManager=me', manifest, APPLY);
    expect(created.status).toBe(201);
    expect(created.body.metadata.managedFields[0]).toMatchObject({ manager: 'me', operation: 'Apply' });
    const updated = await patch(
      '/api/v1/namespaces/app/configmaps/cfg?fieldManager=me',
      manifest.replace('"1"', '"2"'),
      APPLY,
    );
    expect(updated.status).toBe(200);
    expect(updated.body.data).toEqual({ a: '2' });
  });
});

describe('managed fields', () => {
  it('records the apiVersion the client used and keeps the last-applied annotation verbatim', async () => {
    const lastApplied = '{"apiVersion":"v1","kind":"Pod"}\n';
    seedPod(h.ctx, 'app', 'p');
    const res = await patch(
      '/api/v1/namespaces/app/pods/p?fieldManager=kubectl-client-side-apply',
      { metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } } },
      SMP,
    );
    expect(res.body.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toBe(
      lastApplied,
    );
    expect(res.body.metadata.managedFields).toEqual([
      expect.objectContaining({
        manager: 'kubectl-client-side-apply',
        operation: 'Update',
        apiVersion: 'v1',
      }),
    ]);
  });
});
