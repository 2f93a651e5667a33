import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/core/clock.ts';
import {
  type Harness,
  type HarnessOptions,
  type Json,
  readJson,
  seedNamespace,
  seedNode,
  seedPod,
  startHarness,
} from './harness.ts';

let h: Harness;

async function start(options: HarnessOptions = {}) {
  h = await startHarness(options);
  seedNamespace(h.ctx, 'app');
  seedNamespace(h.ctx, 'other');
  return h;
}
afterEach(() => h?.close());

interface WatchEvent {
  type: string;
  object: {
    kind?: string;
    metadata: { name?: string; resourceVersion?: string };
    code?: number;
    reason?: string;
  };
}

/** Opens a watch and collects its events line by line. */
async function openWatch(path: string) {
  const controller = new AbortController();
  const res = await fetch(h.url + path, { signal: controller.signal });
  const events: WatchEvent[] = [];
  let ended = false;
  const done = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          events.push(JSON.parse(buffer.slice(0, nl)));
          buffer = buffer.slice(nl + 1);
          nl = buffer.indexOf('\n');
        }
      }
    } catch {
      // aborted
    }
    ended = true;
  })();
  const until = async (predicate: () => boolean, what: string) => {
    for (let i = 0; i < 200 && !predicate(); i++) await new Promise((r) => setTimeout(r, 10));
    if (!predicate())
      throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.map((e) => e.type))}`);
  };
  return {
    res,
    events,
    ended: () => ended,
    waitFor: (n: number) => until(() => events.length >= n, `${n} events`),
    waitEnd: () => until(() => ended, 'the end of the stream'),
    close: async () => {
      controller.abort();
      await done;
    },
  };
}

const names = (items: Array<{ metadata: { name: string } }>) => items.map((i) => i.metadata.name);

describe('list', () => {
  it('returns a PodList with the store resourceVersion and typed items', async () => {
    await start();
    seedPod(h.ctx, 'app', 'a');
    const list = await readJson(await h.request('GET', '/api/v1/namespaces/app/pods'));
    expect(list).toMatchObject({
      kind: 'PodList',
      apiVersion: 'v1',
      metadata: { resourceVersion: String(h.ctx.store.resourceVersion) },
    });
    expect(list.items[0]).toMatchObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' } });
  });

  it.each([
    ['tier=web', ['web1', 'web2']],
    ['tier==web', ['web1', 'web2']],
    ['tier!=web', ['db', 'plain']],
    ['tier in (web,db)', ['db', 'web1', 'web2']],
    ['tier notin (web)', ['db', 'plain']],
    ['tier', ['db', 'web1', 'web2']],
    ['!tier', ['plain']],
    ['rank>1', ['web2']],
    ['rank<2', ['web1']],
    ['tier=web,rank>1', ['web2']],
  ])('selects pods by label selector %s', async (selector, expected) => {
    await start();
    seedPod(h.ctx, 'app', 'web1', { labels: { tier: 'web', rank: '1' } });
    seedPod(h.ctx, 'app', 'web2', { labels: { tier: 'web', rank: '2' } });
    seedPod(h.ctx, 'app', 'db', { labels: { tier: 'db' } });
    seedPod(h.ctx, 'app', 'plain');
    const res = await h.request('GET', `/api/v1/pods?labelSelector=${encodeURIComponent(selector)}`);
    expect(names((await readJson(res)).items)).toEqual(expected);
  });

  it.each([
    ['spec.nodeName=n1', ['a', 'c']],
    ['spec.nodeName==n1,metadata.namespace=app', ['a']],
    ['spec.nodeName=', ['pending']],
    ['status.phase=Running,metadata.name!=a', ['b', 'c']],
    ['metadata.name=b', ['b']],
  ])('selects pods by field selector %s', async (selector, expected) => {
    await start();
    seedNode(h.ctx, 'n1');
    seedNode(h.ctx, 'n2');
    seedPod(h.ctx, 'app', 'a', { node: 'n1' });
    seedPod(h.ctx, 'app', 'b', { node: 'n2' });
    seedPod(h.ctx, 'other', 'c', { node: 'n1' });
    seedPod(h.ctx, 'app', 'pending');
    const res = await h.request('GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(selector)}`);
    expect(names((await readJson(res)).items).sort()).toEqual(expected);
  });

  it('lists only metadata when asked for a PartialObjectMetadataList, as client-go metadata clients ask', async () => {
    await start();
    seedNode(h.ctx, 'n1');
    seedPod(h.ctx, 'app', 'a', { node: 'n1', labels: { tier: 'web' } });
    seedPod(h.ctx, 'app', 'b', { node: 'n1' });
    await h.request('DELETE', '/api/v1/namespaces/app/pods/b');
    const full = await readJson(await h.request('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn1'));
    const res = await h.request('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn1&limit=1', undefined, {
      Accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json',
    });
    const page = await readJson(res);
    expect(page).toMatchObject({
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: String(h.ctx.store.resourceVersion), continue: expect.any(String) },
    });
    expect(page.items).toEqual([
      { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: full.items[0].metadata },
    ]);
    const rest = await readJson(
      await h.request(
        'GET',
        `/api/v1/pods?fieldSelector=spec.nodeName%3Dn1&continue=${encodeURIComponent(page.metadata.continue)}`,
        undefined,
        { Accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' },
      ),
    );
    expect(rest.items).toEqual([
      { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: full.items[1].metadata },
    ]);
    expect(rest.items[0].metadata.deletionTimestamp).toEqual(expect.any(String));
  });

  // `constructor` and `toString` are names every JavaScript object answers to, not field labels.
  it.each(['foo', 'constructor', 'toString'])('rejects the unsupported field %s with 400', async (field) => {
    await start();
    const res = await h.request('GET', `/api/v1/pods?fieldSelector=${field}%3Dbar`);
    expect(res.status).toBe(400);
    expect(await readJson(res)).toMatchObject({
      reason: 'BadRequest',
      message: `field label not supported: ${field}`,
    });
  });

  it('selects nodes by spec.unschedulable and events by involvedObject', async () => {
    await start();
    seedNode(h.ctx, 'n1', { spec: { unschedulable: true } });
    const node2 = seedNode(h.ctx, 'n2');
    h.ctx.recordEvent(node2, 'Normal', 'NodeReady', 'ready', 'kubelet');
    h.ctx.recordEvent(node2, 'Normal', 'NodeReady', 'ready', 'kubelet');
    const nodes = await readJson(
      await h.request('GET', '/api/v1/nodes?fieldSelector=spec.unschedulable%3Dtrue'),
    );
    expect(names(nodes.items)).toEqual(['n1']);
    const events = await readJson(
      await h.request(
        'GET',
        '/api/v1/events?fieldSelector=involvedObject.kind%3DNode,involvedObject.name%3Dn2,reason%3DNodeReady',
      ),
    );
    expect(events.items).toHaveLength(1);
    expect(events.items[0]).toMatchObject({
      count: 2,
      source: { component: 'kubelet' },
      type: 'Normal',
      reportingComponent: 'kubelet',
    });
  });

  it('pages with limit and continue without losing or repeating objects', async () => {
    await start();
    seedNode(h.ctx, 'n1');
    for (let i = 0; i < 1_200; i++) seedPod(h.ctx, i % 2 ? 'app' : 'other', `p-${i}`, { node: 'n1' });
    for (const selector of ['', '&fieldSelector=spec.nodeName%3Dn1']) {
      const seen: string[] = [];
      let cont = '';
      let pages = 0;
      do {
        const res = await h.request(
          'GET',
          `/api/v1/pods?limit=500${selector}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
        );
        const list = await readJson(res);
        seen.push(
          ...list.items.map(
            (p: { metadata: { namespace: string; name: string } }) =>
              `${p.metadata.namespace}/${p.metadata.name}`,
          ),
        );
        cont = list.metadata.continue ?? '';
        pages++;
      } while (cont);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(1_200);
    }
  });

  it('lists each object exactly as a GET returns it, and its new JSON once it changes', async () => {
    await start();
    const big = 'x'.repeat(1_500_000); // more than one 1 MiB write chunk, even as 3-byte UTF-8
    await h.request('POST', '/api/v1/namespaces/app/configmaps', {
      metadata: { name: 'a-utf8' },
      data: { text: 'grüße ✓ 🚀 \u2028' },
    });
    await h.request('POST', '/api/v1/namespaces/app/configmaps', {
      metadata: { name: 'b-big' },
      data: { big },
    });
    for (let i = 0; i < 300; i++)
      await h.request('POST', '/api/v1/namespaces/app/configmaps', {
        metadata: { name: `c-${String(i).padStart(3, '0')}`, labels: { n: String(i) } },
        data: { v: '€'.repeat(i * 10) },
      });
    const listed = async () => {
      const text = await (await h.request('GET', '/api/v1/namespaces/app/configmaps')).text();
      const list = JSON.parse(text);
      expect(text).toBe(JSON.stringify(list));
      return list as { items: Array<{ metadata: { name: string; resourceVersion: string }; data: Json }> };
    };
    const first = await listed();
    expect(first.items).toHaveLength(302);
    for (const name of ['a-utf8', 'b-big', 'c-007', 'c-299']) {
      const got = await (await h.request('GET', `/api/v1/namespaces/app/configmaps/${name}`)).text();
      expect(JSON.stringify(first.items.find((i) => i.metadata.name === name))).toBe(got);
    }
    expect(first.items[0]!.data.text).toBe('grüße ✓ 🚀 \u2028');
    expect(first.items[1]!.data.big).toBe(big);

    // The second list is served from the JSON kept by the first: changes must show, deletions must go.
    const again = await listed();
    expect(again).toEqual(first);
    await h.request(
      'PATCH',
      '/api/v1/namespaces/app/configmaps/c-007',
      { data: { v: 'changed' } },
      {
        'Content-Type': 'application/merge-patch+json',
      },
    );
    await h.request('DELETE', '/api/v1/namespaces/app/configmaps/c-008');
    const after = await listed();
    expect(after.items).toHaveLength(301);
    const c7 = after.items.find((i) => i.metadata.name === 'c-007')!;
    expect(c7.data.v).toBe('changed');
    expect(Number(c7.metadata.resourceVersion)).toBeGreaterThan(
      Number(first.items.find((i) => i.metadata.name === 'c-007')!.metadata.resourceVersion),
    );
    expect(after.items.some((i) => i.metadata.name === 'c-008')).toBe(false);
    const page = await readJson(
      await h.request('GET', '/api/v1/namespaces/app/configmaps?limit=5&labelSelector=n%3D7'),
    );
    expect(names(page.items)).toEqual(['c-007']);
    expect(page.items[0].data.v).toBe('changed');
  });

  it("lists one node's pods again and again with each pod's current JSON, as a GET returns it", async () => {
    await start();
    for (const name of ['a', 'b', 'c']) seedPod(h.ctx, 'app', name, { node: 'n1' });
    const listed = async () => {
      const text = await (await h.request('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn1')).text();
      const list = JSON.parse(text);
      expect(text).toBe(JSON.stringify(list));
      for (const item of list.items) {
        const got = await h.request('GET', `/api/v1/namespaces/app/pods/${item.metadata.name}`);
        expect(JSON.stringify(item)).toBe(await got.text());
      }
      return list.items as Array<{ metadata: { name: string }; status: { phase: string } }>;
    };
    const first = await listed();
    expect(await listed()).toEqual(first);
    h.ctx.store.mutate('pods', 'app', 'a', (d) => {
      d.status.phase = 'Succeeded';
    });
    h.ctx.store.mutate('pods', 'app', 'b', (d) => {
      d.spec.nodeName = 'n2';
    });
    const after = await listed();
    expect(after.map((p) => [p.metadata.name, p.status.phase])).toEqual([
      ['a', 'Succeeded'],
      ['c', 'Running'],
    ]);
  });

  it('keeps serving after a client drops a large list half way', async () => {
    await start();
    seedNode(h.ctx, 'n1');
    for (let i = 0; i < 3_000; i++)
      seedPod(h.ctx, 'app', `p-${i}`, { node: 'n1', labels: { pad: 'y'.repeat(60) } });
    for (let round = 0; round < 3; round++) {
      const controller = new AbortController();
      const res = await fetch(`${h.url}/api/v1/pods`, { signal: controller.signal });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      controller.abort();
      await reader.read().catch(() => undefined);
    }
    const list = await readJson(await h.request('GET', '/api/v1/pods'));
    expect(list.items).toHaveLength(3_000);
  });

  it('rejects a garbled continue token with 400', async () => {
    await start();
    const res = await h.request('GET', '/api/v1/pods?limit=1&continue=garbage');
    expect(res.status).toBe(400);
  });
});

describe('watch', () => {
  it('replays current objects from 0 and streams later changes', async () => {
    await start();
    seedPod(h.ctx, 'app', 'a');
    const w = await openWatch('/api/v1/namespaces/app/pods?watch=true');
    expect(w.res.status).toBe(200);
    await w.waitFor(1);
    h.ctx.store.mutate('pods', 'app', 'a', (d) => {
      d.metadata.labels = { x: '1' };
    });
    seedPod(h.ctx, 'other', 'not-in-namespace');
    h.ctx.store.remove('pods', 'app', 'a');
    await w.waitFor(3);
    expect(w.events.map((e) => [e.type, e.object.metadata.name, e.object.kind])).toEqual([
      ['ADDED', 'a', 'Pod'],
      ['MODIFIED', 'a', 'Pod'],
      ['DELETED', 'a', 'Pod'],
    ]);
    await w.close();
  });

  it('streams only changes after a given resourceVersion', async () => {
    await start();
    seedPod(h.ctx, 'app', 'old');
    const rv = h.ctx.store.resourceVersion;
    seedPod(h.ctx, 'app', 'new');
    const w = await openWatch(`/api/v1/pods?watch=1&resourceVersion=${rv}`);
    await w.waitFor(1);
    expect(w.events.map((e) => e.object.metadata.name)).toEqual(['new']);
    await w.close();
  });

  it('reports a pod leaving a label selection as DELETED', async () => {
    await start();
    seedPod(h.ctx, 'app', 'a', { labels: { app: 'web' } });
    const w = await openWatch('/api/v1/pods?watch=true&labelSelector=app%3Dweb');
    await w.waitFor(1);
    h.ctx.store.mutate('pods', 'app', 'a', (d) => {
      d.metadata.labels = { app: 'db' };
    });
    await w.waitFor(2);
    expect(w.events[1]!.type).toBe('DELETED');
    await w.close();
  });

  it.each([
    ['from 0', ''],
    ['from a resourceVersion', 'rv'],
  ])(
    "streams one node's pods by spec.nodeName %s: bound there, changed there, gone from there",
    async (_, from) => {
      await start();
      seedPod(h.ctx, 'app', 'b', { node: 'n1' });
      seedPod(h.ctx, 'other', 'a', { node: 'n1', labels: { app: 'web' } });
      seedPod(h.ctx, 'app', 'elsewhere', { node: 'n2' });
      seedPod(h.ctx, 'app', 'pending');
      seedPod(h.ctx, 'app', 'moving', { node: 'n1' });
      const rv = from === 'rv' ? `&resourceVersion=${h.ctx.store.resourceVersion}` : '';
      const w = await openWatch(`/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3Dn1${rv}`);
      const replayed =
        from === 'rv'
          ? []
          : [
              ['ADDED', 'app/b'],
              ['ADDED', 'app/moving'],
              ['ADDED', 'other/a'],
            ];
      await w.waitFor(replayed.length);
      const bind = (name: string, node: string) =>
        h.ctx.store.mutate('pods', 'app', name, (d) => {
          d.spec.nodeName = node;
        });
      h.ctx.store.mutate('pods', 'app', 'elsewhere', (d) => {
        d.status.phase = 'Failed';
      });
      bind('pending', 'n1');
      h.ctx.store.mutate('pods', 'app', 'b', (d) => {
        d.status.phase = 'Succeeded';
      });
      bind('moving', 'n2');
      h.ctx.store.remove('pods', 'other', 'a');
      seedPod(h.ctx, 'app', 'c', { node: 'n1' });
      await w.waitFor(replayed.length + 5);
      await new Promise((r) => setTimeout(r, 20));
      const ns = (e: WatchEvent) =>
        `${(e.object.metadata as { namespace?: string }).namespace}/${e.object.metadata.name}`;
      expect(w.events.map((e) => [e.type, ns(e)])).toEqual([
        ...replayed,
        ['ADDED', 'app/pending'],
        ['MODIFIED', 'app/b'],
        ['DELETED', 'app/moving'],
        ['DELETED', 'other/a'],
        ['ADDED', 'app/c'],
      ]);
      await w.close();
    },
  );

  it('combines spec.nodeName with the namespace and label selector of a pod watch', async () => {
    await start();
    seedPod(h.ctx, 'app', 'web', { node: 'n1', labels: { app: 'web' } });
    seedPod(h.ctx, 'app', 'db', { node: 'n1', labels: { app: 'db' } });
    seedPod(h.ctx, 'other', 'web', { node: 'n1', labels: { app: 'web' } });
    const w = await openWatch(
      '/api/v1/namespaces/app/pods?watch=true&labelSelector=app%3Dweb&fieldSelector=spec.nodeName%3Dn1',
    );
    await w.waitFor(1);
    h.ctx.store.mutate('pods', 'other', 'web', (d) => {
      d.status.phase = 'Failed';
    });
    h.ctx.store.mutate('pods', 'app', 'db', (d) => {
      d.metadata.labels = { app: 'web' };
    });
    await w.waitFor(2);
    await new Promise((r) => setTimeout(r, 20));
    expect(w.events.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ['ADDED', 'web'],
      ['ADDED', 'db'],
    ]);
    await w.close();
  });

  it('sends bookmarks every minute of clock time when asked', async () => {
    const clock = new VirtualClock();
    await start({ clock });
    const w = await openWatch('/api/v1/pods?watch=true&allowWatchBookmarks=true');
    await new Promise((r) => setTimeout(r, 20));
    await clock.advance(61_000);
    await w.waitFor(1);
    expect(w.events[0]).toEqual({
      type: 'BOOKMARK',
      object: {
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(h.ctx.store.resourceVersion) },
      },
    });
    await w.close();
  });

  it('answers a compacted resourceVersion with one 410 ERROR event, then ends', async () => {
    await start({ historySize: 2 });
    for (let i = 0; i < 5; i++) seedPod(h.ctx, 'app', `p${i}`);
    const w = await openWatch('/api/v1/pods?watch=true&resourceVersion=2');
    expect(w.res.status).toBe(200);
    await w.waitEnd();
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', code: 410, reason: 'Expired' },
    });
  });

  // The history holds the last 4 of 7 changes (p3..p6): a watch after p3 replays p4..p6, after p6 nothing.
  it.each([
    [3, ['p4', 'p5', 'p6']],
    [4, ['p5', 'p6']],
    [6, []],
  ])('resumes after the change to p%i from a history that has wrapped', async (from, expected) => {
    await start({ historySize: 4 });
    const rvs: string[] = [];
    for (let i = 0; i < 7; i++) rvs.push(seedPod(h.ctx, 'app', `p${i}`).metadata.resourceVersion!);
    const w = await openWatch(`/api/v1/pods?watch=true&resourceVersion=${rvs[from]}`);
    // A later change marks the end of the replay.
    seedPod(h.ctx, 'other', 'later');
    await w.waitFor(expected.length + 1);
    expect(w.events.map((e) => [e.type, e.object.metadata.name])).toEqual(
      [...expected, 'later'].map((name) => ['ADDED', name]),
    );
    await w.close();
  });

  it('answers an unparseable resourceVersion with 400', async () => {
    await start();
    const res = await h.request('GET', '/api/v1/pods?watch=true&resourceVersion=abc');
    expect(res.status).toBe(400);
  });

  it('ends the stream after timeoutSeconds and when the server closes', async () => {
    await start();
    const timed = await openWatch('/api/v1/pods?watch=true&timeoutSeconds=1');
    await timed.waitEnd();
    const open = await openWatch('/api/v1/pods?watch=true');
    await h.close();
    await open.waitEnd();
  });
});
