import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';

describe('the sandbox admin API: store snapshot and drill', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ scenario: 'demo' });
  }, 60_000);
  afterAll(() => sandbox?.stop());

  it('gives every object under its etcd key, with the store revision, to the token holder only', async () => {
    const res = await sandbox.request('GET', '/sandbox/v1/store/snapshot');
    expect(res.status).toBe(200);
    const snapshot = res.json();
    expect(snapshot).toMatchObject({ format: 'midflight.sandbox-store/v1', scenario: 'demo' });
    expect(snapshot.revision).toBeGreaterThan(1);
    const keys: string[] = snapshot.items.map((i: { key: string }) => i.key);
    expect(keys).toContain('/registry/minions/cp-1');
    expect(keys).toContain('/registry/pods/kube-system/etcd-cp-1');
    expect(keys).toEqual([...keys].sort());

    expect(await statusWithoutToken(sandbox, '/sandbox/v1/store/snapshot')).toBe(401);
  });

  it('drills a snapshot into a scratch store, leaving the live one as it was', async () => {
    const snapshot = (await sandbox.request('GET', '/sandbox/v1/store/snapshot')).json();
    const before = (await sandbox.request('GET', '/sandbox/v1/summary')).json();
    const res = await sandbox.request('POST', '/sandbox/v1/store/drill?sample=2', { body: snapshot });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      revision: snapshot.revision,
      keys: snapshot.items.length,
      sampleKeys: snapshot.items.slice(0, 2).map((i: { key: string }) => i.key),
      problems: [],
    });
    const after = (await sandbox.request('GET', '/sandbox/v1/summary')).json();
    expect(after.nodes.total).toBe(before.nodes.total);
  });

  it.each([
    {
      name: 'not a snapshot',
      body: () => ({ items: [] }),
      says: /not a midflight\.sandbox-store\/v1 snapshot/,
    },
    {
      name: 'an object twice',
      body: (s: { items: unknown[] }) => ({ ...s, items: [...s.items, s.items[0]] }),
      says: /already exists/,
    },
  ])('refuses to pass a drill with $name (422, with why)', async ({ body, says }) => {
    const snapshot = (await sandbox.request('GET', '/sandbox/v1/store/snapshot')).json();
    const res = await sandbox.request('POST', '/sandbox/v1/store/drill', { body: body(snapshot) });
    expect(res.status).toBe(422);
    expect(res.json().problems.join('\n')).toMatch(says);
  });
});

/** The status a request without the sandbox's bearer token gets (its certificate is not checked). */
function statusWithoutToken(sandbox: RunningSandbox, path: string): Promise<number> {
  const url = new URL(path, sandbox.kubeConfig().getCurrentCluster()!.server);
  return new Promise((resolve, reject) => {
    https
      .get(url, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}
