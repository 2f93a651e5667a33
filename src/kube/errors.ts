/**
 * Kubernetes API failures as the read-only commands report them: a few error classes with context fields,
 * a failure class (from `apiFailureClass`, the one rule), and a one-line message a user can act on. The
 * failure itself is read by `api-failure.ts`.
 */
import { type Clock, type FailureClass, mayRetry } from '../core/index.ts';
import { type ApiFailure, apiFailureClass, apiFailureOf, classifyFailure } from './api-failure.ts';
import { withRetries } from './retry.ts';

/** What was being done and against which server: every error names both. */
export interface RequestContext {
  /** The API server URL from the kubeconfig. */
  server: string;
  /** A gerund phrase: "listing pods", "reading /version". */
  operation: string;
}

export abstract class KubeError extends Error {
  /** How a caller handles it (see core/failure-class.ts). */
  abstract readonly failureClass: FailureClass;
  readonly server: string;
  readonly operation: string;
  constructor(message: string, context: RequestContext, options?: { cause?: unknown }) {
    super(message, options);
    this.server = context.server;
    this.operation = context.operation;
  }
  get retryable(): boolean {
    return mayRetry(this.failureClass);
  }
}

/** No HTTP answer at all: connection refused, unknown host, timeout, reset, TLS failure. */
export class ClusterUnreachableError extends KubeError {
  readonly failureClass: FailureClass;
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
    this.failureClass = apiFailureClass({ code: undefined, message: reason, causes: [], networkCode });
  }
}

/** The TLS handshake failed: the kubeconfig's CA does not vouch for the server's certificate. */
export class ClusterCertificateError extends KubeError {
  readonly failureClass: FailureClass = 'permanent';
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
  readonly failureClass: FailureClass = 'permanent';
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
  readonly failureClass: FailureClass = 'permanent';
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
  readonly failureClass: FailureClass = 'permanent';
  constructor(
    context: RequestContext,
    readonly serverMessage: string,
    cause?: unknown,
  ) {
    super(`${context.operation} on ${context.server}: not found (404: ${serverMessage})`, context, { cause });
    this.name = 'NotFoundError';
  }
}

/** 429 or 5xx (but 501): the server is busy or failing; worth another try after a pause. */
export class ServerUnavailableError extends KubeError {
  readonly failureClass: FailureClass = 'transient';
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

/** Any other refusal (400, 409, 410, 422…): the request itself was wrong for this server (or, 409, raced). */
export class RequestRejectedError extends KubeError {
  readonly failureClass: FailureClass;
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
    this.failureClass = apiFailureClass({ code: status, reason, message: serverMessage, causes: [] });
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
  const failure = apiFailureOf(err);
  if (failure.code !== undefined) return httpError(failure, failure.code, context, err);
  const code = failure.networkCode;
  if (code && TLS_CODES.has(code)) return new ClusterCertificateError(context, tlsReason(code), err);
  if (code)
    return new ClusterUnreachableError(context, NETWORK_REASONS[code] ?? code.toLowerCase(), code, err);
  return new ClusterUnreachableError(context, firstLine(failure.message), undefined, err);
}

function httpError(failure: ApiFailure, status: number, context: RequestContext, err: unknown): KubeError {
  const message = firstLine(failure.message);
  if (status === 401) return new UnauthorizedError(context, err);
  if (status === 403) return new ForbiddenError(context, message, err);
  if (status === 404) return new NotFoundError(context, message, err);
  if (apiFailureClass(failure) === 'transient')
    return new ServerUnavailableError(context, status, message, failure.retryAfterSeconds, 1, err);
  return new RequestRejectedError(context, status, failure.reason, message, err);
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
 * `withRetries` for the read-only commands: fewer attempts, only what `classifyFailure` calls transient, and
 * the final failure as a KubeError naming the operation (and, for a busy server, how many tries it got).
 */
export function withApiRetries<T>(
  context: RequestContext,
  call: () => Promise<T>,
  options: ApiRetryOptions,
): Promise<T> {
  return withRetries(options.clock, context.operation, call, {
    attempts: options.attempts ?? 4,
    baseDelayMs: options.baseDelayMs ?? 250,
    retryIf: (err) => mayRetry(classifyFailure(kubeErrorOf(err, context))),
    failWith: (err, attempts) => {
      const error = kubeErrorOf(err, context);
      if (!(error instanceof ServerUnavailableError) || attempts === 1) return error;
      return new ServerUnavailableError(
        context,
        error.status,
        error.serverMessage,
        error.retryAfterSeconds,
        attempts,
        err,
      );
    },
  });
}
