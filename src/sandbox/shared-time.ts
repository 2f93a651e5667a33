/**
 * One virtual time across two threads: the sandbox in a worker thread, its client (the engine of a
 * rehearsal) in the main thread, each on its own VirtualClock, both moved to the same instant. As in one
 * process (idle-time.ts), time moves only when there is nothing left to do, which across two threads means:
 * - neither thread has an HTTP request waiting for its answer (watches aside), nor work left from what it
 *   last read or fired (a few quiet event-loop turns, as in idle-time.ts);
 * - no byte is in flight between them: every byte one side wrote on their connections the other has read.
 *   That is what holds time while a watch event the sandbox wrote has not reached the engine yet, without
 *   either side knowing what a watch is: the bytes are counted on the sockets themselves (found through the
 *   `http.client.request.start` / `http.server.request.start` diagnostics channels).
 * Time then moves to the earliest pending timer of either thread, and both clocks advance to it together.
 *
 * The main thread leads (`leadSharedTime`): it decides, and asks the worker (`followSharedTime`) over a
 * SharedArrayBuffer, with Atomics, to report (once it is quiet: its next timer and its byte counts) or to
 * advance. One command at a time, answered in order.
 *
 * Note: bytes are summed over the connections open on each side only. A connection closed with bytes still
 * unread (a watch its client gave up on) would otherwise hold time for good; one closed on one side only is
 * a moment's difference (the other side sees the close right after, on loopback).
 */
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { VirtualClock } from '../core/index.ts';
import {
  type IdleTimeDriver,
  NOTHING_PENDING_WALL_MS,
  nextTurn,
  QUIET_TURNS,
  trackOpenRequests,
  wallSleep,
} from './idle-time.ts';

/** The size of the buffer `createSharedTime` allocates. */
const INT_SLOTS = 4;
const FLOAT_SLOTS = 4;
const FLOATS_AT = INT_SLOTS * Int32Array.BYTES_PER_ELEMENT;
const BYTES = FLOATS_AT + FLOAT_SLOTS * Float64Array.BYTES_PER_ELEMENT;

// Int32 slots: the leader's command (sequence number, kind) and the sequence number the follower has done.
const CMD_SEQ = 0;
const CMD_KIND = 1;
const ACK_SEQ = 2;
// Float64 slots: the instant to advance to; the follower's report.
const TARGET = 0;
const NEXT_TIMER = 1;
const WRITTEN = 2;
const READ = 3;

const REPORT = 1;
const ADVANCE = 2;
const STOP = 3;

/** Times the leader finds bytes in flight before it waits in wall time instead of one turn. */
const TURNS_BEFORE_WALL_WAIT = 16;

/** Atomics.waitAsync (Node 16 and later): part of ES2024, newer than the library this project compiles against. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      array: Int32Array,
      index: number,
      value: number,
      timeoutMs?: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

/** The memory both threads share: pass it to the worker (workerData) and to both ends. */
export function createSharedTime(): SharedArrayBuffer {
  return new SharedArrayBuffer(BYTES);
}

interface Slots {
  ints: Int32Array;
  floats: Float64Array;
}

function slotsOf(shared: SharedArrayBuffer): Slots {
  if (shared.byteLength !== BYTES)
    throw new RangeError(`shared time needs ${BYTES} bytes, got ${shared.byteLength}`);
  return {
    ints: new Int32Array(shared, 0, INT_SLOTS),
    floats: new Float64Array(shared, FLOATS_AT, FLOAT_SLOTS),
  };
}

interface ByteCounts {
  read: number;
  written: number;
}

/** The bytes read and written on the connections open now, among those `track` was given. */
class LiveSocketBytes {
  private readonly live = new Set<Socket>();

  constructor(private readonly counts: (socket: Socket) => boolean = () => true) {}

  track(socket: Socket): void {
    if (this.live.has(socket) || socket.destroyed) return;
    this.live.add(socket);
    socket.once('close', () => this.live.delete(socket));
  }

  totals(): ByteCounts {
    let read = 0;
    let written = 0;
    for (const socket of this.live) {
      if (!this.counts(socket)) continue;
      read += socket.bytesRead;
      written += socket.bytesWritten;
    }
    return { read, written };
  }
}

function sameCounts(a: ByteCounts, b: ByteCounts): boolean {
  return a.read === b.read && a.written === b.written;
}

/**
 * Waits until this thread has no request open and its byte counts stayed the same for QUIET_TURNS turns;
 * false when `stopped()` turns true first.
 */
async function waitQuiet(
  requests: ReturnType<typeof trackOpenRequests>,
  bytes: LiveSocketBytes,
  stopped: () => boolean,
): Promise<void> {
  let calm = 0;
  while (calm < QUIET_TURNS && !stopped()) {
    if (requests.count() > 0) {
      await requests.allClosed();
      calm = 0;
      continue;
    }
    const before = bytes.totals();
    await nextTurn();
    calm = requests.count() === 0 && sameCounts(before, bytes.totals()) ? calm + 1 : 0;
  }
}

export interface SharedTimeLeaderOptions {
  /**
   * The port the follower's server listens on, once known: only connections to it are counted. Until then
   * no connection is (the follower's server is not up yet, so nothing can be in flight).
   */
  peerPort: () => number | undefined;
  /** Rejects when the follower can no longer answer (its thread died): the leader stops. */
  followerGone: Promise<never>;
}

/**
 * Moves `clock` (this thread's) and the follower's together, whenever both threads are quiet and nothing is
 * in flight between them, until `stop()`, which also ends the follower's loop.
 */
export function leadSharedTime(
  clock: VirtualClock,
  shared: SharedArrayBuffer,
  options: SharedTimeLeaderOptions,
): IdleTimeDriver {
  const { ints, floats } = slotsOf(shared);
  const bytes = new LiveSocketBytes((socket) => {
    const port = options.peerPort();
    return port !== undefined && socket.remotePort === port;
  });
  const requests = trackOpenRequests((request: ClientRequest) => {
    if (request.socket) bytes.track(request.socket);
    else request.once('socket', (socket: Socket) => bytes.track(socket));
  });
  let stopped = false;
  let gone = false;
  let wakeAsker: (() => void) | undefined;
  options.followerGone.catch(() => {
    gone = true;
    wakeAsker?.();
  });

  const ask = async (kind: number, target = 0): Promise<void> => {
    const seq = (Atomics.load(ints, CMD_SEQ) + 1) | 0;
    floats[TARGET] = target;
    Atomics.store(ints, CMD_KIND, kind);
    Atomics.store(ints, CMD_SEQ, seq);
    Atomics.notify(ints, CMD_SEQ);
    for (;;) {
      const done = Atomics.load(ints, ACK_SEQ);
      if (done === seq) return;
      if (gone) throw new Error('the thread that follows time is gone');
      const wait = waitAsync(ints, ACK_SEQ, done);
      // Note: not a race with followerGone, which would keep one reaction per command until the end. And the
      // wait itself holds no handle: the follower's Worker is what keeps this process alive, and its exit
      // what ends the wait when it dies.
      if (wait.async)
        await new Promise<void>((resolve) => {
          wakeAsker = resolve;
          void wait.value.then(() => resolve());
        });
      wakeAsker = undefined;
    }
  };

  const loop = (async () => {
    let inFlight = 0;
    while (!stopped) {
      await waitQuiet(requests, bytes, () => stopped);
      if (stopped) break;
      const mine = bytes.totals();
      await ask(REPORT);
      if (stopped) break;
      if (requests.count() > 0 || !sameCounts(mine, bytes.totals())) continue;
      if (floats[WRITTEN]! !== mine.read || floats[READ]! !== mine.written) {
        // Bytes on their way (loopback delivers them within a turn or two) or a connection half closed.
        inFlight++;
        await (inFlight > TURNS_BEFORE_WALL_WAIT ? wallSleep(1) : nextTurn());
        continue;
      }
      inFlight = 0;
      const theirs = floats[NEXT_TIMER]!;
      const ours = clock.nextTimerAt();
      const next = Math.min(
        ours ?? Number.POSITIVE_INFINITY,
        Number.isNaN(theirs) ? Number.POSITIVE_INFINITY : theirs,
      );
      if (next === Number.POSITIVE_INFINITY) {
        await wallSleep(NOTHING_PENDING_WALL_MS);
        continue;
      }
      // Note: both clocks read the new instant before either thread fires a timer, so that nothing either
      // thread does at that instant is seen by the other at the one before.
      const target = Math.max(next, clock.now());
      clock.jumpTo(target);
      await ask(ADVANCE, target);
      await clock.advance(0);
    }
  })().catch((err: unknown) => {
    if (!gone) throw err;
  });

  return {
    async stop() {
      stopped = true;
      requests.release();
      try {
        await loop;
        if (!gone) await ask(STOP);
      } finally {
        requests.dispose();
      }
    },
  };
}

/**
 * The worker's side: answers the leader's commands on `clock` (this thread's) until the leader stops it.
 * Resolves when it has.
 */
export async function followSharedTime(clock: VirtualClock, shared: SharedArrayBuffer): Promise<void> {
  const { ints, floats } = slotsOf(shared);
  const bytes = new LiveSocketBytes();
  const onServerRequest = (message: unknown) => bytes.track((message as { socket: Socket }).socket);
  diagnostics.subscribe('http.server.request.start', onServerRequest);
  // Note: the sandbox's own requests (to etcd) hold time as they do in one thread.
  const requests = trackOpenRequests();
  // Note: from what was last done, not from the command there now: the leader may have asked before this thread started.
  let seen = Atomics.load(ints, ACK_SEQ);
  try {
    for (;;) {
      const wait = waitAsync(ints, CMD_SEQ, seen);
      if (wait.async) await wait.value;
      const seq = Atomics.load(ints, CMD_SEQ);
      if (seq === seen) continue;
      seen = seq;
      const kind = Atomics.load(ints, CMD_KIND);
      if (kind === REPORT) {
        await waitQuiet(requests, bytes, () => false);
        const counts = bytes.totals();
        floats[NEXT_TIMER] = clock.nextTimerAt() ?? Number.NaN;
        floats[WRITTEN] = counts.written;
        floats[READ] = counts.read;
      }
      if (kind === ADVANCE) clock.jumpTo(floats[TARGET]!);
      Atomics.store(ints, ACK_SEQ, seq);
      Atomics.notify(ints, ACK_SEQ);
      if (kind === STOP) return;
      // Note: once both clocks read the new instant (the leader waits for the answer above), each thread fires
      // what falls due there; the next command is read once this thread's timers have fired.
      if (kind === ADVANCE) await clock.advance(0);
    }
  } finally {
    diagnostics.unsubscribe('http.server.request.start', onServerRequest);
    requests.dispose();
  }
}
