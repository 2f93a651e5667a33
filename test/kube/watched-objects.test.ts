import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { requestJson } from '../../src/kube/client.ts';
import { WatchedObjects } from '../../src/kube/watched-objects.ts';
import { type Harness, seedNamespace, startHarness } from '../sandbox/api/harness.ts';

type ConfigMap = KubernetesObject & { data?: Record<string, string> };
type ConfigMapList = KubernetesListObject<ConfigMap>;

const PATH = '/api/v1/namespaces/app/configmaps';

let h: Harness | undefined;
let watched: WatchedObjects<ConfigMap> | undefined;
afterEach(async () => {
  await watched?.stop();
  await h?.close();
  watched = h = undefined;
});

async function start(historySize?: number): Promise<{ h: Harness; clock: VirtualClock }> {
  const clock = new VirtualClock();
  h = await startHarness({ clock, historySize });
  seedNamespace(h.ctx, 'app');
  return { h, clock };
}

async function put(harness: Harness, name: string, value: string): Promise<void> {
  const body = { metadata: { name }, data: { value } };
  const created = await harness.request('POST', PATH, body);
  if (created.status === 409) await harness.request('PUT', `${PATH}/${name}`, body);
  else expect(created.status).toBe(201);
}

/** Resolves once the cache says what `check` wants (each change wakes it; bounded by changes, not time). */
async function until(w: WatchedObjects<ConfigMap>, check: () => boolean): Promise<void> {
  for (let changes = 0; !check(); changes++) {
    if (changes > 50) throw new Error('the watch never showed the change');
    await w.nextChange('app');
  }
}

/** Watch requests of configmaps the server has answered to the end. */
async function watchesServed(harness: Harness): Promise<number> {
  const counter = harness.ctx.metrics.getSingleMetric('apiserver_request_total') as Counter | undefined;
  let served = 0;
  for (const v of (await counter?.get())?.values ?? [])
    if (v.labels.verb === 'watch' && v.labels.resource === 'configmaps') served += v.value;
  return served;
}

/** Requests the server answered 404 (a resource it does not know is counted without one). */
async function notFoundServed(harness: Harness): Promise<number> {
  const counter = harness.ctx.metrics.getSingleMetric('apiserver_request_total') as Counter | undefined;
  let served = 0;
  for (const v of (await counter?.get())?.values ?? [])
    if (String(v.labels.code) === '404') served += v.value;
  return served;
}

const valueIn = (w: WatchedObjects<ConfigMap>, name: string) => w.get(name, 'app')?.data?.value;

describe('a watched collection (list, then watch through stream-watch.ts)', () => {
  it('sees objects created, changed and deleted, however the stream cuts their lines', async () => {
    const { h, clock } = await start();
    const kc = h.kubeConfig();
    await put(h, 'before', 'listed');
    const w = WatchedObjects.start<ConfigMap>(kc, clock, {
      path: PATH,
      list: () => requestJson<ConfigMapList>(kc, 'GET', PATH),
    });
    watched = w;
    await until(w, () => w.live);
    expect(valueIn(w, 'before')).toBe('listed');

    // Half a megabyte in one event: the socket delivers it in many pieces.
    const big = 'x'.repeat(512 * 1024);
    await put(h, 'big', big);
    await put(h, 'small', 'one');
    await until(w, () => valueIn(w, 'small') === 'one');
    expect(valueIn(w, 'big')).toBe(big);

    await put(h, 'small', 'two');
    await until(w, () => valueIn(w, 'small') === 'two');
    expect((await h.request('DELETE', `${PATH}/before`)).status).toBe(200);
    await until(w, () => w.get('before', 'app') === undefined);
    expect(
      w
        .list()
        ?.map((cm) => cm.metadata?.name)
        .sort(),
    ).toEqual(['big', 'small']);
  });

  it('closes its watch when stopped', async () => {
    const { h, clock } = await start();
    const kc = h.kubeConfig();
    const w = WatchedObjects.start<ConfigMap>(kc, clock, {
      path: PATH,
      list: () => requestJson<ConfigMapList>(kc, 'GET', PATH),
    });
    await until(w, () => w.live);
    expect(h.server.openWatches()).toHaveLength(1);
    await w.stop();
    for (let ticks = 0; h.server.openWatches().length > 0 && ticks < 100; ticks++)
      await new Promise((r) => setImmediate(r));
    expect(h.server.openWatches()).toHaveLength(0);
    expect(w.live).toBe(false);
  });

  it('watches again from where it was when the server ends the stream, missing nothing', async () => {
    const { h, clock } = await start();
    const kc = h.kubeConfig();
    let lists = 0;
    const w = WatchedObjects.start<ConfigMap>(kc, clock, {
      path: PATH,
      list: () => {
        lists++;
        return requestJson<ConfigMapList>(kc, 'GET', PATH);
      },
    });
    watched = w;
    await until(w, () => w.live);
    // The sandbox ends a watch after 300 to 600 s of its clock, as kube-apiserver does (counted as it ends).
    await clock.advance(601_000);
    for (let ticks = 0; (await watchesServed(h)) < 1 && ticks < 100; ticks++)
      await new Promise((r) => setImmediate(r));
    expect(await watchesServed(h)).toBe(1);
    await put(h, 'after', 'seen');
    await until(w, () => valueIn(w, 'after') === 'seen');
    expect(h.server.openWatches()).toHaveLength(1);
    expect(lists).toBe(1);
  });

  it('lists again when the server no longer has its resourceVersion (410 Expired), then watches on', async () => {
    const { h, clock } = await start(5);
    const kc = h.kubeConfig();
    // A list read long ago: the changes since have gone from the server's history.
    const stale = await requestJson<ConfigMapList>(kc, 'GET', PATH);
    for (let i = 0; i < 10; i++) await put(h, `cm-${i}`, String(i));
    let lists = 0;
    const w = WatchedObjects.start<ConfigMap>(kc, clock, {
      path: PATH,
      list: async () => (lists++ === 0 ? stale : requestJson<ConfigMapList>(kc, 'GET', PATH)),
    });
    watched = w;
    await until(w, () => w.live && valueIn(w, 'cm-9') === '9');
    expect(lists).toBe(2);
    expect(w.list()).toHaveLength(10);
    await put(h, 'cm-10', '10');
    await until(w, () => valueIn(w, 'cm-10') === '10');
  });

  it('stays down while the server refuses its watch, and asks again a second later', async () => {
    const { h, clock } = await start();
    const w = WatchedObjects.start<ConfigMap>(h.kubeConfig(), clock, {
      // Not a resource the server knows: its watch is answered 404.
      path: '/api/v1/namespaces/app/nosuchthings',
      list: async () => ({ apiVersion: 'v1', kind: 'List', items: [], metadata: { resourceVersion: '1' } }),
    });
    watched = w;
    const started = clock.now();
    // Time moves on in tenths of a second, the answers given in between, until the watch is asked again.
    for (let steps = 0; (await notFoundServed(h)) < 2 && steps < 100; steps++) {
      for (let ticks = 0; ticks < 20; ticks++) await new Promise((r) => setImmediate(r));
      expect(w.live).toBe(false);
      await clock.advance(100);
    }
    expect(await notFoundServed(h)).toBe(2);
    expect(clock.now() - started).toBeGreaterThanOrEqual(1_000);
  });
});
