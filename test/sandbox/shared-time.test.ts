/**
 * One virtual time across two threads (src/sandbox/shared-time.ts): this thread leads, a worker thread
 * (shared-time-follower.ts: an HTTP server with timers of its own) follows. Time moves to the earliest timer
 * of either thread, both clocks together, and never while a request waits for its answer or while bytes a
 * watch stream carries are still unread.
 */
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/index.ts';
import type { IdleTimeDriver } from '../../src/sandbox/idle-time.ts';
import { startModuleWorker } from '../../src/sandbox/module-worker.ts';
import { createSharedTime, leadSharedTime } from '../../src/sandbox/shared-time.ts';

interface Pair {
  clock: VirtualClock;
  port: number;
  driver: IdleTimeDriver;
  worker: Worker;
}

let running: Pair | undefined;
afterEach(async () => {
  await running?.driver.stop();
  await running?.worker.terminate();
  running = undefined;
});

/** Starts the follower with its timers (clock ms) and this thread leading time from 0. */
async function startPair(timers: number[], eventBytes = 10): Promise<Pair> {
  const shared = createSharedTime();
  const worker = startModuleWorker(new URL('./shared-time-follower.ts', import.meta.url), {
    shared,
    timers,
    eventBytes,
  });
  const gone = new Promise<never>((_resolve, reject) => {
    worker.on('error', reject);
    worker.on('exit', () => reject(new Error('the follower exited')));
  });
  gone.catch(() => {});
  const { port } = await Promise.race([
    new Promise<{ port: number }>((resolve) => worker.once('message', resolve)),
    gone,
  ]);
  // Note: time starts to move only now, and only once the caller's first steps (a request, a watch) are
  // taken: the leader looks for quiet turns, which come after the caller's continuation.
  const clock = new VirtualClock(0);
  const driver = leadSharedTime(clock, shared, { peerPort: () => port, followerGone: gone });
  running = { clock, port, driver, worker };
  return running;
}

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** Opens a watch stream; `onLine` is called with each complete line, `onChunk` with each chunk before. */
function watch(
  port: number,
  onLine: (line: string) => void,
  onChunk: (res: IncomingMessage) => void = () => {},
): ClientRequest {
  return http.get({ host: '127.0.0.1', port, path: '/?watch=true' }, (res) => {
    let buffered = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      onChunk(res);
      buffered += chunk;
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        onLine(buffered.slice(0, end));
        buffered = buffered.slice(end + 1);
      }
    });
  });
}

/** Resolves after `ms` of wall time (a slow reader), whatever the virtual clocks do. */
const wall = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('shared time across two threads', () => {
  it('moves to the earliest timer of either thread in turn, both clocks together', async () => {
    const { clock, port } = await startPair([1000, 3000]);
    const seen: Array<[number, number]> = [];
    const look = async () => seen.push([clock.now(), Number(await get(port, '/now'))]);
    clock.setTimer(2000, () => void look());
    clock.setTimer(4000, () => void look());
    await clock.sleep(5000);
    expect(seen).toEqual([
      [2000, 2000],
      [4000, 4000],
    ]);
    expect(JSON.parse(await get(port, '/log'))).toEqual([1000, 3000]);
    expect(Number(await get(port, '/now'))).toBe(5000);
  });

  it('holds time while a request waits for its answer', async () => {
    const { clock, port } = await startPair([5000]);
    const order: string[] = [];
    clock.setTimer(10_000, () => order.push(`timer at ${clock.now()}`));
    const answered = await get(port, '/slow');
    order.push(`answered at ${clock.now()}, the follower's clock at ${answered}`);
    await clock.sleep(20_000);
    expect(order).toEqual(["answered at 0, the follower's clock at 0", 'timer at 10000']);
    expect(JSON.parse(await get(port, '/log'))).toEqual([5000]);
  });

  it('holds time while a watch event the follower wrote is not read yet', async () => {
    // A megabyte per event, and a reader that leaves it on the connection for 300 ms of wall time once its
    // first bytes came: the follower's next timer, 1 ms of clock later, must wait until it has been read.
    const { clock, port } = await startPair([1000, 1001], 1_000_000);
    const events: Array<[number, number]> = [];
    let startOfEvent = true;
    const stream = watch(
      port,
      (line) => {
        events.push([Number(line.split(' ')[0]), clock.now()]);
        startOfEvent = true;
      },
      (res) => {
        if (!startOfEvent) return;
        startOfEvent = false;
        // Note: the response, not its socket: the response resumes its socket whenever it wants more.
        res.pause();
        void wall(300).then(() => res.resume());
      },
    );
    await clock.sleep(2000);
    stream.destroy();
    expect(events).toEqual([
      [1000, 1000],
      [1001, 1001],
    ]);
  });

  it('does not hold time for a watch its client closed with bytes unread', async () => {
    const { clock, port } = await startPair([1000], 1_000_000);
    let closing = false;
    const stream = watch(
      port,
      () => {},
      (res) => {
        if (closing) return;
        closing = true;
        res.pause();
        void wall(20).then(() => stream.destroy());
      },
    );
    await clock.sleep(5000);
    expect(clock.now()).toBe(5000);
    expect(Number(await get(port, '/now'))).toBe(5000);
  });
});
