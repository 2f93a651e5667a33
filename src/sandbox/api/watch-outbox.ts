import type { ServerResponse } from 'node:http';

/** What a watch holds for its client: lines queued by the server plus what the socket has not yet taken. */
export interface WatchBacklog {
  /** Bytes of live events (and bookmarks) waiting in the outbox: what counts against the limit. */
  queuedBytes: number;
  /** Events of the initial replay not yet written (references to stored objects, encoded when sent). */
  replayPending: number;
  /** Bytes written to the response that the socket has not yet sent (`res.writableLength`). */
  socketBytes: number;
}

/** Encodes one queued event when it is its turn to be written. */
export type LazyLine = () => string;

/**
 * The lines one watch stream has yet to write, written only as fast as the client reads them: when
 * `res.write` says the socket's buffer is full, the outbox waits for 'drain' before writing more.
 *
 * Lines come in two kinds, as in kube-apiserver's cacheWatcher:
 * - the initial replay (current objects, or the history after a resourceVersion), kept as references to the
 *   stored objects and encoded only when written: it may be 150,000 pods, and holding them costs no copies;
 * - live events, encoded on arrival and counted in bytes. Once more than `maxQueuedBytes` of them wait, the
 *   client is too far behind: `onOverflow` is called (the handler then ends the watch with a 410), so a client
 *   that stops reading costs the server a bounded amount of memory.
 */
export class WatchOutbox {
  private readonly replay: LazyLine[] = [];
  private replayHead = 0;
  private readonly live: string[] = [];
  private liveHead = 0;
  private queuedBytes = 0;
  private waitingForDrain = false;
  private stopped = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: { maxQueuedBytes: number; onOverflow: () => void },
  ) {
    res.on('drain', () => {
      this.waitingForDrain = false;
      this.flush();
    });
  }

  /** Queues a line of the initial replay (before any live line). */
  pushReplay(line: LazyLine): void {
    if (this.stopped) return;
    this.replay.push(line);
  }

  /** Queues a live line; may call onOverflow (synchronously) when the client is too far behind. */
  pushLive(line: string): void {
    if (this.stopped) return;
    this.live.push(line);
    this.queuedBytes += line.length;
    this.flush();
    if (this.queuedBytes > this.options.maxQueuedBytes) this.options.onOverflow();
  }

  /** Writes queued lines until the socket asks to wait. */
  flush(): void {
    while (!this.stopped && !this.waitingForDrain && !this.res.writableEnded && !this.res.destroyed) {
      const line = this.next();
      if (line === undefined) return;
      if (!this.res.write(line)) this.waitingForDrain = true;
    }
  }

  /** Whether every queued line has been handed to the socket. */
  get empty(): boolean {
    return this.replayHead === this.replay.length && this.liveHead === this.live.length;
  }

  /** Drops whatever is still queued and takes no more (the stream is ending). */
  stop(): void {
    this.stopped = true;
    this.replay.length = 0;
    this.live.length = 0;
    this.replayHead = 0;
    this.liveHead = 0;
    this.queuedBytes = 0;
  }

  backlog(): WatchBacklog {
    return {
      queuedBytes: this.queuedBytes,
      replayPending: this.replay.length - this.replayHead,
      socketBytes: this.res.writableLength,
    };
  }

  private next(): string | undefined {
    if (this.replayHead < this.replay.length) {
      const line = this.replay[this.replayHead]!();
      this.replay[this.replayHead++] = noLine;
      if (this.replayHead === this.replay.length) {
        this.replay.length = 0;
        this.replayHead = 0;
      }
      return line;
    }
    if (this.liveHead < this.live.length) {
      const line = this.live[this.liveHead]!;
      this.live[this.liveHead++] = '';
      this.queuedBytes -= line.length;
      if (this.liveHead === this.live.length) {
        this.live.length = 0;
        this.liveHead = 0;
      }
      return line;
    }
    return undefined;
  }
}

const noLine: LazyLine = () => '';
