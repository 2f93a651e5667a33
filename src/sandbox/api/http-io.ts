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
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
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

/**
 * Writes a large JSON document piece by piece, waiting for the socket to drain, so a 150,000-pod list never
 * becomes one string beyond V8's limit nor one buffer holding the whole response.
 */
export class ChunkedJsonWriter {
  private pending: string[] = [];
  private pendingSize = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly flushAt = 256 * 1024,
  ) {}

  begin(code: number, headers: Record<string, string> = {}): void {
    this.res.writeHead(code, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      ...headers,
    });
  }

  async write(text: string): Promise<void> {
    this.pending.push(text);
    this.pendingSize += text.length;
    if (this.pendingSize >= this.flushAt) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.pendingSize = 0;
    if (this.res.destroyed) return;
    if (!this.res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.res.off('drain', done);
          this.res.off('close', done);
          resolve();
        };
        this.res.on('drain', done);
        this.res.on('close', done);
      });
    }
  }

  async end(): Promise<void> {
    await this.flush();
    this.res.end();
  }
}
