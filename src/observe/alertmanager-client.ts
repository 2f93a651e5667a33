/**
 * The part of Alertmanager's v2 API a run uses: create a silence, expire one, list them. Each request has
 * a timeout; every failure is an AlertmanagerError saying which request failed and how, never with the
 * bearer token in it.
 */
import type { AlertmanagerMatcher } from './silence-matchers.ts';

export interface PostableSilence {
  matchers: AlertmanagerMatcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export interface GettableSilence extends PostableSilence {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
  updatedAt: string;
}

export interface AlertmanagerClientOptions {
  /** Base URL, without /api/v2. */
  url: string;
  bearerToken?: string;
  /** Wall-clock ms one request may take. */
  timeoutMs: number;
}

export class AlertmanagerError extends Error {
  constructor(
    readonly operation: string,
    readonly url: string,
    detail: string,
    /** HTTP status, when Alertmanager answered. */
    readonly status?: number,
  ) {
    super(`alertmanager ${url}: ${operation}: ${detail}`);
    this.name = 'AlertmanagerError';
  }
}

export class AlertmanagerClient {
  constructor(private readonly options: AlertmanagerClientOptions) {}

  get url(): string {
    return this.options.url;
  }

  /** Creates a silence; returns its id. */
  async createSilence(silence: PostableSilence): Promise<string> {
    const body = await this.request('POST', '/api/v2/silences', 'create a silence', silence);
    const id = (body as { silenceID?: unknown } | undefined)?.silenceID;
    if (typeof id !== 'string')
      throw new AlertmanagerError('create a silence', this.url, 'the answer has no silenceID');
    return id;
  }

  /** Expires a silence; one already expired or gone is done. */
  async expireSilence(id: string): Promise<void> {
    try {
      await this.request('DELETE', `/api/v2/silence/${encodeURIComponent(id)}`, `expire silence ${id}`);
    } catch (err) {
      // Note: Alertmanager answers 404 for an unknown id and 500 "already expired" for an expired one.
      if (err instanceof AlertmanagerError && (err.status === 404 || /already expired/i.test(err.message)))
        return;
      throw err;
    }
  }

  /** Every silence Alertmanager keeps (expired ones too, until its retention drops them). */
  async listSilences(): Promise<GettableSilence[]> {
    const body = await this.request('GET', '/api/v2/silences', 'list silences');
    if (!Array.isArray(body))
      throw new AlertmanagerError('list silences', this.url, 'the answer is not a list of silences');
    return body as GettableSilence[];
  }

  private async request(method: string, path: string, operation: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.bearerToken) headers.authorization = `Bearer ${this.options.bearerToken}`;
    let res: Response;
    try {
      // Note: a wall-clock timeout, not the run's clock: it bounds a network exchange, and a sandbox's scaled
      // clock would make it too short to answer.
      res = await fetch(`${this.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      throw new AlertmanagerError(operation, this.url, networkReason(err, this.options.timeoutMs));
    }
    const text = await res.text().catch(() => '');
    if (!res.ok)
      throw new AlertmanagerError(
        operation,
        this.url,
        `HTTP ${res.status}${text ? `: ${text.trim().slice(0, 200)}` : ''}`,
        res.status,
      );
    if (text === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new AlertmanagerError(operation, this.url, `HTTP ${res.status} but the answer is not JSON`);
    }
  }
}

/** Why a request got no answer, in words that hold no header or URL. */
export function networkReason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (e?.cause?.code) return `unreachable (${e.cause.code})`;
  return 'unreachable';
}
