/**
 * The one place that reads Kubernetes API failures — client-node's ApiException, node-fetch's network
 * errors, our own requestRaw answers — and turns them into a few error classes with context fields,
 * `retryable`, and a one-line message a user can act on.
 */
import { ApiException } from '@kubernetes/client-node';
import type { Clock } from '../core/clock.ts';

/** What was being done and against which server: every error names both. */
export interface RequestContext {
  /** The API server URL from the kubeconfig. */
  server: string;
  /** A gerund phrase: "listing pods", "reading /version". */
  operation: string;
}

export abstract class KubeError extends Error {
  abstract readonly retryable: boolean;
  readonly server: string;
  readonly operation: string;
  constructor(message: string, context: RequestContext, options?: { cause?: unknown }) {
    super(message, options);
    this.server = context.server;
    this.operation = context.operation;
  }
}

/** No HTTP answer at all: connection refused, unknown host, timeout, reset, TLS failure. */
export class ClusterUnreachableError extends KubeError {
  readonly retryable: boolean;
  constructor(
    context: RequestContext,
    /** Short reason: "connection refused", "host not found", "no answer within 30 s"… */
    readonly reason: string,
    readonly networkCode: string | undefined,
    cause?: unknown,
  ) {
    super(
      `cannot reach the cluster at ${context.server} (${reason}): is it running, and is --context right?`,
      context,
      { cause },
    );
    this.name = 'ClusterUnreachableError';
    // A refused connection or an unknown host will not heal in a few seconds; a reset or timeout may.
    this.retryable = networkCode === 'ECONNRESET' || networkCode === 'ETIMEDOUT' || networkCode === 'EPIPE';
  }
}

/** The TLS handshake failed: the kubeconfig's CA does not vouch for the server's certificate. */
export class ClusterCertificateError extends KubeError {
  readonly retryable = false;
  constructor(context: RequestContext, reason: string, cause?: unknown) {
    super(
      `cannot trust the cluster at ${context.server} (${reason}): check certificate-authority-data in the kubeconfig`,
      context,
      { cause },
    );
    this.name = 'ClusterCertificateError';
  }
}

/** 401: the credentials were not accepted. */
export class UnauthorizedError extends KubeError {
  readonly retryable = false;
  constructor(context: RequestContext, cause?: unknown) {
    super(
      `the cluster at ${context.server} did not accept our credentials while ${context.operation} (401 Unauthorized): ` +
        'check the user in the kubeconfig, or log in again',
      context,
      { cause },
    );
    this.name = 'UnauthorizedError';
  }
}

/** 403: authenticated, but RBAC says no. */
export class ForbiddenError extends KubeError {
  readonly retryable = false;
  constructor(
    context: RequestContext,
    readonly serverMessage: string,
    cause?: unknown,
  ) {
    super(
      `not allowed: ${context.operation} on ${context.server} was forbidden (403: ${serverMessage}); ` +
        'midflight needs read access to nodes, pods, workloads, budgets, webhooks, CRDs and secrets',
      context,
      { cause },
    );
    this.name = 'ForbiddenError';
  }
}

/** 404: the object or the whole API is missing (an API group the cluster does not serve). */
export class NotFoundError extends KubeError {
  readonly retryable = false;
  constructor(
    context: RequestContext,
    readonly serverMessage: string,
    cause?: unknown,
  ) {
    super(`${context.operation} on ${context.server}: not found (404: ${serverMessage})`, context, { cause });
    this.name = 'NotFoundError';
  }
}

/** 429 or 5xx: the server is busy or failing; worth another try after a pause. */
export class ServerUnavailableError extends KubeError {
  readonly retryable = true;
  constructor(
    context: RequestContext,
    readonly status: number,
    readonly serverMessage: string,
    /** Seconds the server asked us to wait (Retry-After header or Status details). */
    readonly retryAfterSeconds: number | undefined,
    readonly attempts = 1,
    cause?: unknown,
  ) {
    const what = status === 429 ? 'is throttling us' : 'is failing';
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    super(
      `the cluster at ${context.server} ${what} while ${context.operation} (HTTP ${status}: ${serverMessage})${tries}: ` +
        'try again later, or check the API server',
      context,
      { cause },
    );
    this.name = 'ServerUnavailableError';
  }
}

/** Any other refusal (400, 409, 410, 422…): the request itself was wrong for this server. */
export class RequestRejectedError extends KubeError {
  readonly retryable = false;
  constructor(
    context: RequestContext,
    readonly status: number,
    readonly reason: string | undefined,
    readonly serverMessage: string,
    cause?: unknown,
  ) {
    super(
      `${context.operation} on ${context.server} was refused (HTTP ${status}: ${serverMessage})`,
      context,
      {
        cause,
      },
    );
    this.name = 'RequestRejectedError';
  }
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
};

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Maps anything a request can throw to a KubeError (a KubeError passes through unchanged). */
export function kubeErrorOf(err: unknown, context: RequestContext): KubeError {
  if (err instanceof KubeError) return err;
  const status = httpStatusOf(err);
  if (status !== undefined) return httpError(err, status, context);
  const code = networkCodeOf(err);
  if (code && TLS_CODES.has(code)) return new ClusterCertificateError(context, tlsReason(code), err);
  if (code)
    return new ClusterUnreachableError(context, NETWORK_REASONS[code] ?? code.toLowerCase(), code, err);
  const message = err instanceof Error ? err.message : String(err);
  return new ClusterUnreachableError(context, firstLine(message), undefined, err);
}

function httpError(err: unknown, status: number, context: RequestContext): KubeError {
  const body = statusBody(err);
  const message = firstLine(body?.message ?? (status ? `HTTP ${status}` : 'no message'));
  if (status === 401) return new UnauthorizedError(context, err);
  if (status === 403) return new ForbiddenError(context, message, err);
  if (status === 404) return new NotFoundError(context, message, err);
  if (status === 429 || status >= 500) {
    return new ServerUnavailableError(context, status, message, retryAfterOf(err, body), 1, err);
  }
  return new RequestRejectedError(context, status, body?.reason, message, err);
}

interface StatusBody {
  reason?: string;
  message?: string;
  details?: { retryAfterSeconds?: number };
}

function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const e = err as { statusCode?: unknown } | undefined;
  return typeof e?.statusCode === 'number' ? e.statusCode : undefined;
}

function statusBody(err: unknown): StatusBody | undefined {
  const body = (err as { body?: unknown } | undefined)?.body;
  if (body && typeof body === 'object') return body as StatusBody;
  if (typeof body === 'string' && body.startsWith('{')) {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return undefined;
    }
  }
  return typeof body === 'string' && body ? { message: body } : undefined;
}

function retryAfterOf(err: unknown, body: StatusBody | undefined): number | undefined {
  const headers = (err as { headers?: Record<string, string | string[] | undefined> } | undefined)?.headers;
  const header = headers?.['retry-after'] ?? headers?.['Retry-After'];
  const value = Number(Array.isArray(header) ? header[0] : header);
  if (Number.isFinite(value) && value >= 0) return value;
  return body?.details?.retryAfterSeconds;
}

/** node-fetch puts the system error code on the error itself; undici and others on `cause`. */
function networkCodeOf(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

function tlsReason(code: string): string {
  if (code === 'CERT_HAS_EXPIRED') return 'its certificate has expired';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'its certificate is for another host name';
  return 'its certificate is not signed by the kubeconfig CA';
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0]!.trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

export interface ApiRetryOptions {
  clock: Clock;
  /** Attempts in all, the first included (default 4). */
  attempts?: number;
  /** Wait before the second attempt, doubling after each failure (default 250 ms, capped at 5 s). */
  baseDelayMs?: number;
}

/**
 * Runs one request, retrying retryable failures with exponential backoff; honours the server's Retry-After
 * when it asks for longer (up to 30 s). The final failure comes out as a KubeError naming the operation.
 */
export async function withApiRetries<T>(
  context: RequestContext,
  call: () => Promise<T>,
  options: ApiRetryOptions,
): Promise<T> {
  const attempts = options.attempts ?? 4;
  let delay = options.baseDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const error = kubeErrorOf(err, context);
      if (!error.retryable || attempt >= attempts) {
        if (error instanceof ServerUnavailableError && attempt > 1) {
          throw new ServerUnavailableError(
            context,
            error.status,
            error.serverMessage,
            error.retryAfterSeconds,
            attempt,
            err,
          );
        }
        throw error;
      }
      const asked = error instanceof ServerUnavailableError ? (error.retryAfterSeconds ?? 0) * 1000 : 0;
      await options.clock.sleep(Math.min(30_000, Math.max(asked, delay)));
      delay = Math.min(5_000, delay * 2);
    }
  }
}
