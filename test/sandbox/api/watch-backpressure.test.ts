import { get, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/core/clock.ts';
import { type Harness, type HarnessOptions, seedNamespace, startHarness } from './harness.ts';

let h: Harness;
afterEach(() => h?.close());

async function start(options: HarnessOptions = {}) {
  h = await startHarness(options);
  seedNamespace(h.ctx, 'app');
}

/** Opens a watch whose client reads nothing until `resume` (Node then stops reading the socket: TCP pushes back). */
function openPausedWatch(path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get(h.url + path, (res) => {
      res.pause();
      resolve(res);
    }).on('error', reject);
  });
}

function readToEnd(res: IncomingMessage): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
    });
    res.on('end', () => resolve(text.split('\n').filter(Boolean)));
    res.on('error', reject);
    res.resume();
  });
}

const tick = () => new Promise((r) => setImmediate(r));

const LIMIT = 256 * 1024;
const PAYLOAD = 'x'.repeat(64 * 1024);

describe('watch back-pressure', () => {
  it('closes the watch of a client that stops reading, holding at most the limit for it meanwhile', async () => {
    await start({ watchBacklogBytes: LIMIT });
    const res = await openPausedWatch('/api/v1/namespaces/app/configmaps?watch=true');
    expect(res.statusCode).toBe(200);
    await tick();
    expect(h.server.openWatches()).toHaveLength(1);

    // Each change is a ~64 KiB event. The kernel's socket buffers absorb some megabytes first; after that
    // the server holds what the client has not read, and must give up once that passes the limit.
    let largestHeld = 0;
    let changes = 0;
    for (; changes < 2_000 && h.server.openWatches().length > 0; changes++) {
      h.ctx.store.create('configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `cm-${changes}`, namespace: 'app' },
        data: { payload: PAYLOAD },
      });
      for (const { backlog } of h.server.openWatches()) {
        largestHeld = Math.max(largestHeld, backlog.queuedBytes + backlog.socketBytes);
      }
      await tick();
    }
    expect(h.server.openWatches()).toHaveLength(0);
    expect(changes).toBeLessThan(2_000);
    // The limit, plus what the socket took before it pushed back (its high-water mark and one event).
    expect(largestHeld).toBeLessThanOrEqual(LIMIT + 2 * (PAYLOAD.length + 1024) + 64 * 1024);
    const counted = await h.ctx.metrics.getSingleMetricAsString('apiserver_terminated_watchers_total');
    expect(counted).toContain('apiserver_terminated_watchers_total{resource="configmaps"} 1');

    // What the client reads once it looks again: the events it had been sent, then why the stream ended.
    const lines = await readToEnd(res);
    const events = lines.map((line) => JSON.parse(line));
    const last = events.at(-1);
    expect(last).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect(last.object.message).toMatch(/too old resource version/);
    const added = events.slice(0, -1);
    expect(added.every((e) => e.type === 'ADDED')).toBe(true);
    // In order and without gaps, so the client can resume from the last one it got.
    expect(added.map((e) => e.object.metadata.name)).toEqual(added.map((_, i) => `cm-${i}`));
    expect(added.length).toBeLessThan(changes);
  });

  it('sends a large initial list only as fast as the client reads it, and never counts it as falling behind', async () => {
    await start({ watchBacklogBytes: LIMIT });
    for (let i = 0; i < 200; i++) {
      h.ctx.store.create('configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `cm-${i}`, namespace: 'app' },
        data: { payload: PAYLOAD },
      });
    }
    const res = await openPausedWatch('/api/v1/namespaces/app/configmaps?watch=true&timeoutSeconds=3600');
    await tick();
    const [watch] = h.server.openWatches();
    expect(watch!.backlog.queuedBytes).toBe(0);
    expect(watch!.backlog.replayPending).toBeGreaterThan(0);
    const reading = readToEnd(res);
    while (h.server.openWatches()[0]?.backlog.replayPending) await tick();
    await h.close();
    const events = (await reading).map((line) => JSON.parse(line));
    expect(events.map((e) => e.object.metadata.name)).toEqual(
      Array.from({ length: 200 }, (_, i) => `cm-${i}`).sort(),
    );
  });

  it('ends a watch after timeoutSeconds of sandbox clock time, with a bookmark, as bookmarks are timed', async () => {
    const clock = new VirtualClock();
    await start({ clock });
    const res = await openPausedWatch(
      '/api/v1/namespaces/app/configmaps?watch=true&timeoutSeconds=90&allowWatchBookmarks=true',
    );
    const reading = readToEnd(res);
    await tick();
    await clock.advance(61_000);
    expect(h.server.openWatches()).toHaveLength(1);
    await clock.advance(30_000);
    const events = (await reading).map((line) => JSON.parse(line));
    expect(events.map((e) => e.type)).toEqual(['BOOKMARK', 'BOOKMARK']);
    expect(h.server.openWatches()).toHaveLength(0);
  });
});
