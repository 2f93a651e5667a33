/**
 * Virtual time for a sandbox that shares its process with its client (the scale bench; later, a rehearsal of
 * a real cluster's upgrade): the clock jumps to its next timer whenever the process has nothing left to run
 * and no HTTP request it made is waiting for an answer. Work then costs no clock time at all: a run's clock
 * time is the sum of what it waits for (grace periods, reboots, polls, soaks), whatever the machine's speed
 * or load, and its wall time is the CPU it costs.
 *
 * A scaled clock cannot give both: at ×15, a second of CPU spent at the start of a round is 15 s of clock
 * that no real cluster would lose.
 *
 * Note: only HTTP requests made through node:http(s) hold the clock; @kubernetes/client-node's fetch goes
 * through them. They are seen on the `http.client.request.start` diagnostics channel and held until the
 * request closes, which is after its response has been read. A watch request (`watch=true`) does not hold
 * it: it stays open for as long as its client wants news, and news only comes when the clock moves (its
 * events are written by the sandbox's own timers; one read within the quiet turns below is handled as any
 * response is). A child process or a file read does not hold the clock at all: neither has a place here.
 */

import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { VirtualClock } from '../core/index.ts';

/**
 * Event-loop turns with nothing open before time moves: promise chains that a response or a timer woke
 * finish within a turn, and a request they make is counted as soon as it is made.
 */
const QUIET_TURNS = 2;
/** A watch's path: its request stays open until the client closes it. */
const WATCH_REQUEST = /[?&]watch=(true|1)(&|$)/;
/** How long to look again, in wall time, when no timer is pending (something outside the clock is awaited). */
const NOTHING_PENDING_WALL_MS = 5;

export interface IdleTimeDriver {
  /** Stops moving the clock; resolves once the driver's loop has ended. */
  stop(): Promise<void>;
}

/** Starts moving `clock` forward whenever this process is idle, until `stop()`. */
export function advanceWhenIdle(clock: VirtualClock): IdleTimeDriver {
  let open = 0;
  let stopped = false;
  let onAllClosed: (() => void) | undefined;

  const onRequest = (message: unknown) => {
    const { request } = message as { request: ClientRequest };
    if (WATCH_REQUEST.test(request.path)) return;
    open++;
    request.once('close', () => {
      open--;
      if (open === 0) onAllClosed?.();
    });
  };
  diagnostics.subscribe('http.client.request.start', onRequest);

  const quiet = async (): Promise<boolean> => {
    for (let turn = 0; turn < QUIET_TURNS; turn++) {
      await nextTurn();
      if (open > 0 || stopped) return false;
    }
    return true;
  };

  const loop = (async () => {
    while (!stopped) {
      if (open > 0) {
        await new Promise<void>((resolve) => {
          onAllClosed = resolve;
        });
        onAllClosed = undefined;
        continue;
      }
      if (!(await quiet())) continue;
      const next = clock.nextTimerAt();
      if (next === undefined) {
        await new Promise((resolve) => setTimeout(resolve, NOTHING_PENDING_WALL_MS));
        continue;
      }
      // Note: the quiet turns above are the yield `advance` would make before the timer, and the next
      // round's the one after it.
      await clock.advanceToNextTimer();
    }
  })();

  return {
    async stop() {
      stopped = true;
      onAllClosed?.();
      await loop;
      diagnostics.unsubscribe('http.client.request.start', onRequest);
    },
  };
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
