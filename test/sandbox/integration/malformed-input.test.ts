import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSandbox, startSandbox } from '../../e2e/sandbox-harness.ts';
import { scenarioFromYaml } from './integration-helpers.ts';

const SMALL = scenarioFromYaml(`
name: small
kubernetesVersion: v1.31.2
prebindPods: true
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 2, capacity: { cpu: "4", memory: 16Gi } }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 2, pdb: { maxUnavailable: 1 } }
`);

let sandbox: RunningSandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ scenario: SMALL, timeScale: 20 });
});
afterAll(() => sandbox?.stop());

const JSON_PATCH = { 'content-type': 'application/json-patch+json' };
const MERGE_PATCH = { 'content-type': 'application/merge-patch+json' };
const SMP = { 'content-type': 'application/strategic-merge-patch+json' };
// Long enough to be absurd, short enough to fit Node's 16 KiB header limit (beyond it the answer is a bare 431).
const HUGE_SELECTOR = encodeURIComponent(
  `app in (${Array.from({ length: 900 }, (_, i) => `v${i}`).join(',')}),!`,
);
const HUGE_KEY_SELECTOR = `${'k'.repeat(5000)}=v`;

interface BadRequest {
  what: string;
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

const BAD_REQUESTS: BadRequest[] = [
  { what: 'truncated JSON', method: 'POST', path: '/api/v1/namespaces/app/pods', body: '{"metadata": ' },
  { what: 'a JSON array as an object', method: 'POST', path: '/api/v1/namespaces/app/pods', body: '[1, 2]' },
  {
    what: 'a JSON string as an object',
    method: 'POST',
    path: '/api/v1/namespaces/app/configmaps',
    body: '"x"',
  },
  {
    what: 'a pod without a name',
    method: 'POST',
    path: '/api/v1/namespaces/app/pods',
    body: '{"apiVersion":"v1","kind":"Pod","metadata":{},"spec":{"containers":[]}}',
  },
  {
    what: 'a body of the wrong kind',
    method: 'POST',
    path: '/api/v1/namespaces/app/configmaps',
    body: '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"}}',
  },
  {
    what: 'a plain-text body',
    method: 'POST',
    path: '/api/v1/namespaces/app/configmaps',
    body: 'name=x',
    headers: { 'content-type': 'text/plain' },
  },
  {
    what: 'an XML body',
    method: 'PUT',
    path: '/api/v1/nodes/general-1',
    body: '<node/>',
    headers: { 'content-type': 'application/xml' },
  },
  { what: 'limit=-1', method: 'GET', path: '/api/v1/pods?limit=-1' },
  { what: 'limit=abc', method: 'GET', path: '/api/v1/pods?limit=abc' },
  { what: 'a garbled continue token', method: 'GET', path: '/api/v1/pods?limit=1&continue=%%%' },
  {
    what: 'watch from resourceVersion=abc',
    method: 'GET',
    path: '/api/v1/pods?watch=true&resourceVersion=abc',
  },
  {
    what: 'watch with timeoutSeconds=soon',
    method: 'GET',
    path: '/api/v1/pods?watch=true&timeoutSeconds=soon',
  },
  { what: 'an unknown core resource', method: 'GET', path: '/api/v1/widgets' },
  { what: 'an unknown group', method: 'GET', path: '/apis/nope.example.com/v1/things' },
  { what: 'an unknown version', method: 'GET', path: '/api/v9/pods' },
  {
    what: 'a path that climbs out',
    method: 'GET',
    path: '/api/v1/namespaces/app/pods/../../../../etc/passwd',
  },
  { what: 'a huge label selector', method: 'GET', path: `/api/v1/pods?labelSelector=${HUGE_SELECTOR}` },
  {
    what: 'a label key of 5,000 characters',
    method: 'GET',
    path: `/api/v1/pods?labelSelector=${HUGE_KEY_SELECTOR}`,
  },
  {
    what: 'a selector with unbalanced parentheses',
    method: 'GET',
    path: '/api/v1/pods?labelSelector=app%20in%20(a',
  },
  { what: 'an unknown field selector', method: 'GET', path: '/api/v1/pods?fieldSelector=spec.bogus%3D1' },
  {
    what: 'a JSON patch that is not a list',
    method: 'PATCH',
    path: '/api/v1/nodes/general-1',
    body: '{"op":"add"}',
    headers: JSON_PATCH,
  },
  {
    what: 'a JSON patch with an unknown op',
    method: 'PATCH',
    path: '/api/v1/nodes/general-1',
    body: '[{"op":"explode","path":"/spec"}]',
    headers: JSON_PATCH,
  },
  {
    what: 'a JSON patch removing a missing path',
    method: 'PATCH',
    path: '/api/v1/nodes/general-1',
    body: '[{"op":"remove","path":"/spec/nothing/here"}]',
    headers: JSON_PATCH,
  },
  {
    what: 'a merge patch that is not JSON',
    method: 'PATCH',
    path: '/api/v1/nodes/general-1',
    body: '{spec: unschedulable}',
    headers: MERGE_PATCH,
  },
  {
    what: 'a strategic merge patch that is a list',
    method: 'PATCH',
    path: '/api/v1/nodes/general-1',
    body: '[1]',
    headers: SMP,
  },
  {
    what: 'a strategic merge patch with a bad directive',
    method: 'PATCH',
    path: '/api/v1/nodes/general-1',
    body: '{"spec":{"taints":[{"$patch":"explode"}]}}',
    headers: SMP,
  },
  {
    what: 'a patch of an unsupported type',
    method: 'PATCH',
    path: '/api/v1/nodes/general-1',
    body: '{}',
    headers: { 'content-type': 'application/yaml' },
  },
  {
    what: 'an eviction that is a list',
    method: 'POST',
    path: '/api/v1/namespaces/app/pods/nobody/eviction',
    body: '[]',
  },
  {
    what: 'delete options that are not JSON',
    method: 'DELETE',
    path: '/api/v1/namespaces/app/configmaps/nothing',
    body: '{"gracePeriodSeconds":',
  },
  {
    what: 'a negative grace period in the query',
    method: 'DELETE',
    path: '/api/v1/nodes/none?gracePeriodSeconds=x',
  },
  {
    what: 'a scale of a missing deployment',
    method: 'GET',
    path: '/apis/apps/v1/namespaces/app/deployments/x/scale',
  },
  {
    what: 'a scale to a negative replica count',
    method: 'PUT',
    path: '/apis/apps/v1/namespaces/app/deployments/web/scale',
    body: '{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","namespace":"app"},"spec":{"replicas":-3}}',
  },
  { what: 'a method the resource does not serve', method: 'PATCH', path: '/api/v1/pods' },
];

describe('the API server on malformed input', () => {
  it.each(BAD_REQUESTS)('answers $what with a 4xx Status', async ({ method, path, body, headers }) => {
    const res = await sandbox.request(method, path, { body, headers });
    expect(res.status, res.body).toBeGreaterThanOrEqual(400);
    expect(res.status, res.body).toBeLessThan(500);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const status = res.json();
    expect(status).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: res.status });
    expect(status.message).toEqual(expect.any(String));
  });

  it.each([
    {
      what: 'an upgrade body that is not JSON',
      method: 'POST',
      path: '/sandbox/v1/nodes/general-1/upgrade',
      body: 'v1',
    },
    {
      what: 'an upgrade without a version',
      method: 'POST',
      path: '/sandbox/v1/nodes/general-1/upgrade',
      body: '{}',
    },
    { what: 'faults that are not JSON', method: 'PATCH', path: '/sandbox/v1/faults', body: '{"api": ' },
    {
      what: 'faults of the wrong type',
      method: 'PATCH',
      path: '/sandbox/v1/faults',
      body: '{"api":{"errorRate":"lots"}}',
    },
    { what: 'an unknown fault', method: 'PUT', path: '/sandbox/v1/faults', body: '{"earthquake":true}' },
    { what: 'advancing a scaled clock', method: 'POST', path: '/sandbox/v1/clock/advance?seconds=-1' },
  ])('answers $what on the admin API with a 4xx and an error message', async ({ method, path, body }) => {
    const res = await sandbox.request(method, path, { body });
    expect(res.status, res.body).toBeGreaterThanOrEqual(400);
    expect(res.status, res.body).toBeLessThan(500);
    expect(res.json().error).toEqual(expect.any(String));
  });

  it('still serves after all that, with the cluster unchanged', async () => {
    const health = await sandbox.request('GET', '/healthz', { headers: { accept: 'text/plain' } });
    expect([health.status, health.body]).toEqual([200, 'ok']);
    const node = (await sandbox.request('GET', '/api/v1/nodes/general-1')).json();
    expect(node.spec.unschedulable).toBeUndefined();
    const faults = (await sandbox.request('GET', '/sandbox/v1/faults')).json();
    expect(faults.api?.errorRate ?? 0).toBe(0);
  });
});
