import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/core/clock.ts';
import {
  type Harness,
  type Json,
  readJson,
  seedNamespace,
  seedNode,
  seedPod,
  startHarness,
  TEST_VERSION,
} from './harness.ts';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  seedNamespace(h.ctx, 'default');
  seedNamespace(h.ctx, 'app');
});
afterEach(() => h.close());

const podBody = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'web' } },
  spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
  ...extra,
});

async function json(res: Response): Promise<Json> {
  expect(res.headers.get('content-type')).toContain('application/json');
  return readJson(res);
}

describe('health, version and discovery', () => {
  it('answers health checks and /version', async () => {
    expect(await (await h.request('GET', '/healthz')).text()).toBe('ok');
    expect(await (await h.request('GET', '/readyz')).text()).toBe('ok');
    expect(await json(await h.request('GET', '/version'))).toEqual(TEST_VERSION);
  });

  it('lists pods/eviction in /api/v1 with its group and version', async () => {
    const list = await json(await h.request('GET', '/api/v1'));
    expect(list.kind).toBe('APIResourceList');
    expect(list.resources).toContainEqual({
      name: 'pods/eviction',
      singularName: '',
      namespaced: true,
      group: 'policy',
      version: 'v1',
      kind: 'Eviction',
      verbs: ['create'],
    });
    const pods = list.resources.find((r: { name: string }) => r.name === 'pods');
    expect(pods).toMatchObject({ singularName: 'pod', kind: 'Pod', shortNames: ['po'], categories: ['all'] });
  });

  it('serves /apis and a group version with the scale subresource', async () => {
    const groups = await json(await h.request('GET', '/apis'));
    expect(groups.groups.map((g: { name: string }) => g.name)).toContain('policy');
    const apps = await json(await h.request('GET', '/apis/apps/v1'));
    expect(apps.resources).toContainEqual(
      expect.objectContaining({
        name: 'deployments/scale',
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
      }),
    );
  });

  it('answers unknown paths with a 404 Status', async () => {
    const res = await h.request('GET', '/api/v1/widgets');
    expect(res.status).toBe(404);
    expect(await json(res)).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
    });
  });
});

describe('create', () => {
  it('fills defaults and system fields, and records managedFields', async () => {
    const res = await h.request('POST', '/api/v1/namespaces/app/pods?fieldManager=tester', {
      ...podBody('web-1'),
      metadata: { name: 'web-1', uid: 'client-uid', resourceVersion: '99' },
    });
    expect(res.status).toBe(201);
    const pod = await json(res);
    expect(pod.metadata.uid).not.toBe('client-uid');
    expect(pod.metadata.namespace).toBe('app');
    expect(pod.spec).toMatchObject({
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
    });
    expect(pod.spec.containers[0]).toMatchObject({
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'IfNotPresent',
    });
    expect(pod.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    expect(pod.metadata.managedFields).toEqual([
      expect.objectContaining({
        manager: 'tester',
        operation: 'Update',
        apiVersion: 'v1',
        fieldsType: 'FieldsV1',
      }),
    ]);
  });

  it('resolves generateName and defaults a Deployment', async () => {
    const res = await h.request('POST', '/apis/apps/v1/namespaces/app/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { generateName: 'web-' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'a', image: 'a:latest' }] },
        },
      },
    });
    expect(res.status).toBe(201);
    const d = await json(res);
    expect(d.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
    expect(d.spec).toMatchObject({
      replicas: 1,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    });
    expect(d.spec.template.spec.containers[0].imagePullPolicy).toBe('Always');
  });

  it('labels a new namespace with its name and makes it Active', async () => {
    const ns = await json(await h.request('POST', '/api/v1/namespaces', { metadata: { name: 'team-a' } }));
    expect(ns.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'team-a' });
    expect(ns.status.phase).toBe('Active');
    expect((await h.request('GET', '/api/v1/namespaces/team-a')).status).toBe(200);
  });

  it.each([
    ['an invalid name', podBody('Bad_Name'), 'metadata.name'],
    ['no containers', { ...podBody('p'), spec: {} }, 'spec.containers'],
  ])('rejects %s with 422 Invalid and the field path', async (_, body, field) => {
    const res = await h.request('POST', '/api/v1/namespaces/app/pods', body);
    expect(res.status).toBe(422);
    const status = await json(res);
    expect(status).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422, details: { kind: 'Pod' } });
    expect(status.details.causes[0].field).toBe(field);
  });

  it('rejects a Deployment whose selector does not match its template', async () => {
    const res = await h.request('POST', '/apis/apps/v1/namespaces/app/deployments', {
      metadata: { name: 'd' },
      spec: {
        selector: { matchLabels: { app: 'x' } },
        template: { metadata: { labels: { app: 'y' } }, spec: { containers: [{ name: 'a', image: 'a:1' }] } },
      },
    });
    expect(res.status).toBe(422);
    expect((await json(res)).details.causes[0].field).toBe('spec.template.metadata.labels');
  });

  it('needs the namespace to exist', async () => {
    const res = await h.request('POST', '/api/v1/namespaces/nope/pods', podBody('p'));
    expect(res.status).toBe(404);
    expect((await json(res)).message).toBe('namespaces "nope" not found');
  });

  it('answers 409 AlreadyExists, 400 for a wrong apiVersion and 400 for malformed JSON', async () => {
    expect((await h.request('POST', '/api/v1/namespaces/app/pods', podBody('p'))).status).toBe(201);
    const dup = await h.request('POST', '/api/v1/namespaces/app/pods', podBody('p'));
    expect(dup.status).toBe(409);
    expect(await json(dup)).toMatchObject({ reason: 'AlreadyExists', message: 'pods "p" already exists' });
    const wrongVersion = await h.request('POST', '/api/v1/namespaces/app/pods', {
      ...podBody('q'),
      apiVersion: 'apps/v1',
    });
    expect(wrongVersion.status).toBe(400);
    const malformed = await h.request('POST', '/api/v1/namespaces/app/pods', '{"metadata": {');
    expect(malformed.status).toBe(400);
    expect(await json(malformed)).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    const yamlType = await h.request('POST', '/api/v1/namespaces/app/pods', 'x', {
      'Content-Type': 'text/csv',
    });
    expect(yamlType.status).toBe(415);
  });

  it('stores nothing on dryRun=All', async () => {
    const res = await h.request('POST', '/api/v1/namespaces/app/pods?dryRun=All', podBody('dry'));
    expect(res.status).toBe(201);
    expect(h.ctx.store.get('pods', 'app', 'dry')).toBeUndefined();
  });
});

describe('update', () => {
  it('rejects a stale resourceVersion with 409 Conflict and accepts an empty one', async () => {
    const created = await json(
      await h.request('POST', '/api/v1/namespaces/app/configmaps', {
        metadata: { name: 'c' },
        data: { a: '1' },
      }),
    );
    const first = await h.request('PUT', '/api/v1/namespaces/app/configmaps/c', {
      ...created,
      data: { a: '2' },
    });
    expect(first.status).toBe(200);
    const stale = await h.request('PUT', '/api/v1/namespaces/app/configmaps/c', {
      ...created,
      data: { a: '3' },
    });
    expect(stale.status).toBe(409);
    expect(await json(stale)).toMatchObject({
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again',
    });
    const unconditional = {
      ...created,
      metadata: { ...created.metadata, resourceVersion: '' },
      data: { a: '4' },
    };
    expect(
      (await json(await h.request('PUT', '/api/v1/namespaces/app/configmaps/c', unconditional))).data,
    ).toEqual({ a: '4' });
  });

  it('keeps status on main-resource writes and only status on status writes', async () => {
    seedNode(h.ctx, 'n1');
    const node = await json(await h.request('GET', '/api/v1/nodes/n1'));
    const put = await json(
      await h.request('PUT', '/api/v1/nodes/n1', {
        ...node,
        spec: { unschedulable: true },
        status: { phase: 'x' },
      }),
    );
    expect(put.spec.unschedulable).toBe(true);
    expect(put.status.conditions[0].type).toBe('Ready');
    const statusPut = await json(
      await h.request('PUT', '/api/v1/nodes/n1/status', { ...put, spec: {}, status: { conditions: [] } }),
    );
    expect(statusPut.spec.unschedulable).toBe(true);
    expect(statusPut.status.conditions).toEqual([]);
  });

  it('rejects a body whose name differs from the URL', async () => {
    seedNode(h.ctx, 'n1');
    const res = await h.request('PUT', '/api/v1/nodes/n1', { metadata: { name: 'n2' } });
    expect(res.status).toBe(400);
  });
});

describe('delete', () => {
  it('gives a running pod a deletionTimestamp and removes an unbound one at once', async () => {
    seedNode(h.ctx, 'n1');
    seedPod(h.ctx, 'app', 'running', { node: 'n1' });
    seedPod(h.ctx, 'app', 'pending');
    const res = await h.request('DELETE', '/api/v1/namespaces/app/pods/running', { gracePeriodSeconds: 10 });
    expect(res.status).toBe(200);
    const pod = await json(res);
    expect(pod.metadata.deletionTimestamp).toBeDefined();
    expect(pod.metadata.deletionGracePeriodSeconds).toBe(10);
    expect(h.ctx.store.get('pods', 'app', 'running')?.metadata.deletionTimestamp).toBeDefined();
    expect((await h.request('DELETE', '/api/v1/namespaces/app/pods/pending')).status).toBe(200);
    expect(h.ctx.store.get('pods', 'app', 'pending')).toBeUndefined();
    const gone = await h.request('DELETE', '/api/v1/namespaces/app/pods/pending');
    expect(gone.status).toBe(404);
  });

  it('leaves the object alone on dryRun and deletes a collection by selector', async () => {
    seedPod(h.ctx, 'app', 'a', { labels: { tier: 'web' } });
    seedPod(h.ctx, 'app', 'b', { labels: { tier: 'db' } });
    expect((await h.request('DELETE', '/api/v1/namespaces/app/pods/a?dryRun=All')).status).toBe(200);
    expect(h.ctx.store.get('pods', 'app', 'a')).toBeDefined();
    const res = await h.request('DELETE', '/api/v1/namespaces/app/pods?labelSelector=tier%3Dweb');
    expect((await json(res)).items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual([
      'a',
    ]);
    expect(h.ctx.store.list('pods').map((p) => p.metadata.name)).toEqual(['b']);
  });
});

describe('tables, scale and metrics', () => {
  it('prints nodes as kubectl does, with SchedulingDisabled when cordoned', async () => {
    // Note: on a virtual clock, so the Age column does not depend on how long the request takes on a busy
    // machine (a wall clock printed 1s once under load).
    await h.close();
    h = await startHarness({ clock: new VirtualClock() });
    seedNode(h.ctx, 'n1', { spec: { unschedulable: true } });
    const res = await h.request('GET', '/api/v1/nodes', undefined, {
      Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    });
    const table = await json(res);
    expect(table.kind).toBe('Table');
    expect(table.columnDefinitions.map((c: { name: string }) => c.name)).toEqual([
      'Name',
      'Status',
      'Roles',
      'Age',
      'Version',
      'Internal-IP',
      'External-IP',
      'OS-Image',
      'Kernel-Version',
      'Container-Runtime',
    ]);
    expect(table.rows[0].cells.slice(0, 5)).toEqual([
      'n1',
      'Ready,SchedulingDisabled',
      '<none>',
      '0s',
      'v1.33.2',
    ]);
    expect(table.rows[0].object.kind).toBe('PartialObjectMetadata');
  });

  it('shows Terminating pods', async () => {
    seedNode(h.ctx, 'n1');
    seedPod(h.ctx, 'app', 'p', { node: 'n1' });
    await h.request('DELETE', '/api/v1/namespaces/app/pods/p');
    const table = await json(
      await h.request('GET', '/api/v1/namespaces/app/pods/p', undefined, {
        Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
      }),
    );
    expect(table.rows[0].cells.slice(0, 3)).toEqual(['p', '0/1', 'Terminating']);
  });

  it('reads and writes a Deployment through its scale subresource', async () => {
    await h.request('POST', '/apis/apps/v1/namespaces/app/deployments', {
      metadata: { name: 'd' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'd' } },
        template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'a', image: 'a:1' }] } },
      },
    });
    const scale = await json(await h.request('GET', '/apis/apps/v1/namespaces/app/deployments/d/scale'));
    expect(scale).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      spec: { replicas: 2 },
      status: { selector: 'app=d' },
    });
    const patched = await h.request(
      'PATCH',
      '/apis/apps/v1/namespaces/app/deployments/d/scale',
      { spec: { replicas: 5 } },
      {
        'Content-Type': 'application/merge-patch+json',
      },
    );
    expect((await json(patched)).spec.replicas).toBe(5);
    expect(h.ctx.store.get('apps/deployments', 'app', 'd')?.spec.replicas).toBe(5);
  });

  it('counts requests in apiserver_request_total', async () => {
    await h.request('GET', '/api/v1/namespaces/app/pods');
    await h.request('GET', '/api/v1/namespaces/app/pods/missing');
    const text = await (await h.request('GET', '/metrics')).text();
    expect(text).toMatch(
      /apiserver_request_total\{verb="list",resource="pods",subresource="",code="200"\} 1/,
    );
    expect(text).toMatch(/apiserver_request_total\{verb="get",resource="pods",subresource="",code="404"\} 1/);
    expect(text).toContain('apiserver_request_duration_seconds_bucket');
  });
});

describe('authentication', () => {
  it('needs the bearer token everywhere but health and version', async () => {
    const secured = await startHarness({ token: 's3cret' });
    try {
      const anonymous = await fetch(`${secured.url}/api/v1/nodes`);
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
      expect((await fetch(`${secured.url}/version`)).status).toBe(200);
      expect((await secured.request('GET', '/api/v1/nodes')).status).toBe(200);
    } finally {
      await secured.close();
    }
  });
});
