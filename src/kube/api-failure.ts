/**
 * A minimal reading of client-node failures for cordon, drain, lease, node-wait and events.
 * Note: src/kube/errors.ts (written in parallel) is meant to become THE mapping of ApiException and network
 * errors; once it lands, these helpers should delegate to it.
 */
import { ApiException } from '@kubernetes/client-node';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** What a failed request said, whatever shape the failure came in. */
export interface ApiFailure {
  /** The HTTP status, or undefined for a network failure (no answer at all). */
  code: number | undefined;
  /** The Status `reason` (NotFound, Conflict, TooManyRequests…), when the server sent one. */
  reason?: string;
  message: string;
  causes: StatusCause[];
  retryAfterSeconds?: number;
}

/** Parses a client-node ApiException (its body is the raw Status text) or any other thrown value. */
export function apiFailureOf(err: unknown): ApiFailure {
  if (err instanceof KubeOperationError) return err.failure;
  if (err instanceof ApiException) {
    const status = parseStatus(err.body);
    return {
      code: err.code,
      reason: status?.reason,
      message: status?.message ?? (typeof err.body === 'string' && err.body ? err.body : `HTTP ${err.code}`),
      causes: status?.details?.causes ?? [],
      retryAfterSeconds: status?.details?.retryAfterSeconds,
    };
  }
  const code = (err as { statusCode?: unknown; code?: unknown })?.statusCode;
  return {
    code: typeof code === 'number' ? code : undefined,
    message: err instanceof Error ? err.message : String(err),
    causes: [],
  };
}

interface StatusBody {
  reason?: string;
  message?: string;
  details?: { causes?: StatusCause[]; retryAfterSeconds?: number };
}

function parseStatus(body: unknown): StatusBody | undefined {
  if (body && typeof body === 'object') return body as StatusBody;
  if (typeof body !== 'string' || !body.startsWith('{')) return undefined;
  try {
    return JSON.parse(body) as StatusBody;
  } catch {
    return undefined;
  }
}

/** Whether trying the same request again later may succeed: network failures, 429, 5xx, 409 conflicts. */
export function isRetryable(failure: ApiFailure): boolean {
  const { code } = failure;
  return code === undefined || code === 429 || code >= 500 || code === 409;
}

export function isNotFound(err: unknown): boolean {
  return apiFailureOf(err).code === 404;
}

/** A failed Kubernetes request, named by what was being done: `cordon node general-1: …`. */
export class KubeOperationError extends Error {
  readonly failure: ApiFailure;
  readonly retryable: boolean;
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    const failure = apiFailureOf(cause);
    const code = failure.code === undefined ? 'no answer' : `HTTP ${failure.code}`;
    super(`${operation}: ${failure.message} (${code})`, { cause });
    this.name = 'KubeOperationError';
    this.failure = failure;
    this.retryable = isRetryable(failure);
  }
}

/** Runs one request, wrapping its failure with what was being done. */
export async function attempt<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new KubeOperationError(operation, err);
  }
}
