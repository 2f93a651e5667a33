import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, StatusError } from '../status.ts';

/** Request bodies above this size are refused, as the real server's 3 MiB limit does. */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBodyBytes(req)).toString('utf8');
}

export async function readBodyBytes(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new StatusError(413, 'RequestEntityTooLarge', 'Request entity too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON request body; malformed JSON is a 400, as the real server's decoder reports it. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml; error: ${(err as Error).message}`,
    );
  }
}

export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendJsonText(res, code, JSON.stringify(body), headers);
}

/** Like sendJson, for a body already in JSON (an object's text rendered once for every client it goes to). */
export function sendJsonText(
  res: ServerResponse,
  code: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
    ...headers,
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  code: number,
  text: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendStatusError(res: ServerResponse, err: StatusError): void {
  const headers: Record<string, string> = {};
  const retry = err.details?.retryAfterSeconds;
  if (retry && retry > 0) headers['Retry-After'] = String(retry);
  sendJson(res, err.code, err.toBody(), headers);
}

/** 1 MiB buffers the list writers encode into, kept for reuse once the socket has taken their bytes. */
const CHUNK_BYTES = 1024 * 1024;
const spareChunks: Buffer[] = [];
/** Spare chunks kept between responses: 8 MiB at most, held for the life of the process. */
const MAX_SPARE_CHUNKS = 8;

/**
 * Writes a large JSON document piece by piece, so a 150,000-pod list never becomes one string beyond V8's
 * limit nor one buffer holding the whole response. Text is UTF-8 encoded straight into 1 MiB buffers that go
 * to the socket as they fill, at most `maxInFlight` of them queued; the caller waits while that many are.
 * Note: buffers, not strings, go to `res.write`. For a string, Node's chunked encoding first measures its
 * UTF-8 length (Buffer.byteLength: ~190 MB/s here, 2.7 s of a full pod list) and then encodes it again.
 * And the buffers are reused, not allocated per chunk: first touching fresh memory (page faults) cost
 * about as much as the encoding itself, 400 MB per full pod list.
 */
export class ChunkedJsonWriter {
  private chunk: Buffer | undefined;
  private used = 0;
  private inFlight = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly maxInFlight = 4,
  ) {
    res.once('close', () => this.wake?.());
  }

  begin(code: number, headers: Record<string, string> = {}): void {
    this.res.writeHead(code, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      ...headers,
    });
  }

  /** True once the client has gone away: the caller can stop producing. */
  get closed(): boolean {
    return this.res.destroyed;
  }

  /**
   * Appends `text`, which is always taken. Returns a promise only when the caller should wait before writing
   * more (the socket is backed up), so a loop over 150,000 objects awaits once per few MiB at most.
   */
  write(text: string): Promise<void> | undefined {
    // A UTF-16 code unit is at most 3 bytes of UTF-8, so this much room always fits the whole text.
    const room = text.length * 3;
    if (room > CHUNK_BYTES) {
      this.send();
      if (!this.res.destroyed) this.res.write(Buffer.from(text, 'utf8'));
      return this.backpressure();
    }
    let sent = false;
    if (this.chunk && this.used + room > CHUNK_BYTES) {
      this.send();
      sent = true;
    }
    this.chunk ??= spareChunks.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
    this.used += this.chunk.write(text, this.used, 'utf8');
    return sent ? this.backpressure() : undefined;
  }

  async end(): Promise<void> {
    this.send();
    if (!this.res.destroyed) this.res.end();
  }

  private send(): void {
    const chunk = this.chunk;
    if (!chunk) return;
    const used = this.used;
    this.chunk = undefined;
    this.used = 0;
    if (this.res.destroyed || used === 0) {
      release(chunk);
      return;
    }
    this.inFlight += 1;
    // The callback runs once the socket has handed the bytes to the kernel: then the chunk can be reused.
    this.res.write(chunk.subarray(0, used), () => {
      this.inFlight -= 1;
      release(chunk);
      this.wake?.();
    });
  }

  private backpressure(): Promise<void> | undefined {
    if (this.res.destroyed || this.inFlight < this.maxInFlight) return undefined;
    return new Promise<void>((resolve) => {
      this.wake = () => {
        if (this.inFlight < this.maxInFlight || this.res.destroyed) {
          this.wake = undefined;
          resolve();
        }
      };
    });
  }
}

function release(chunk: Buffer): void {
  if (spareChunks.length < MAX_SPARE_CHUNKS) spareChunks.push(chunk);
}
