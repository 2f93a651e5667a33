/**
 * The worker thread of shared-time.test.ts: a small HTTP server on a VirtualClock that follows the test's
 * (followSharedTime), with timers of its own (workerData.timers: clock ms from 0) that each log their
 * instant and write a line on every open `?watch=true` stream (workerData.eventBytes long, so a slow reader
 * leaves some of it in flight).
 *   GET /now            this thread's clock
 *   GET /log            the instants its timers fired at
 *   GET /slow           answered after 100 ms of wall time, with this thread's clock
 *   GET /?watch=true    a stream of its timers' lines
 */
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { VirtualClock } from '../../src/core/index.ts';
import { followSharedTime } from '../../src/sandbox/shared-time.ts';

const input = workerData as { shared: SharedArrayBuffer; timers: number[]; eventBytes: number };
const clock = new VirtualClock(0);
const following = followSharedTime(clock, input.shared);
const fired: number[] = [];
const watchers = new Set<ServerResponse>();

for (const at of input.timers)
  clock.setTimer(at, () => {
    fired.push(clock.now());
    const line = `${clock.now()} ${'x'.repeat(Math.max(0, input.eventBytes))}\n`;
    for (const res of watchers) res.write(line);
  });

const server = http.createServer((req, res) => {
  if (req.url?.includes('watch=true')) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.flushHeaders();
    watchers.add(res);
    res.on('close', () => watchers.delete(res));
    return;
  }
  if (req.url === '/now') return res.end(String(clock.now()));
  if (req.url === '/log') return res.end(JSON.stringify(fired));
  if (req.url === '/slow') {
    setTimeout(() => res.end(String(clock.now())), 100);
    return;
  }
  res.writeHead(404).end();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () =>
  parentPort!.postMessage({ port: (server.address() as AddressInfo).port }),
);
await following;
server.closeAllConnections();
server.close();
