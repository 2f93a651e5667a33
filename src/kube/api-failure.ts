/**
 * The one reading of a failed Kubernetes request, whatever shape it came in (client-node's ApiException,
 * node-fetch's network errors, our own requestRaw answers): its HTTP status, the Status it carried, the
 * network code. The steps that change a cluster (cordon, drain, lease, node-wait, events) act on this
 * reading; `errors.ts` turns it into the one-line errors that read-only commands show.
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
  /** How long the server asked us to wait: its Retry-After header, else the Status details. */
  retryAfterSeconds?: number;
  /** The system error code of a network failure: ECONNREFUSED, ETIMEDOUT, a TLS code… */
  networkCode?: string;
}

/** Reads a failure from a client-node ApiException, any error with a `statusCode`, or a network error. */
export function apiFailureOf(err: unknown): ApiFailure {
  if (err instanceof KubeOperationError) return err.failure;
  const code = httpStatusOf(err);
  if (code === undefined) {
    return {
      code,
      message: err instanceof Error ? err.message : String(err),
      causes: [],
      networkCode: networkCodeOf(err),
    };
  }
  const status = parseStatus((err as { body?: unknown }).body);
  return {
    code,
    reason: status?.reason,
    // Note: an ApiException's own message repeats the whole body; another error's says what it was.
    message:
      status?.message ||
      (err instanceof Error && !(err instanceof ApiException) ? err.message : `HTTP ${code}`),
    causes: status?.details?.causes ?? [],
    retryAfterSeconds: retryAfterHeader(err) ?? status?.details?.retryAfterSeconds,
  };
}

interface StatusBody {
  reason?: string;
  message?: string;
  details?: { causes?: StatusCause[]; retryAfterSeconds?: number };
}

function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** A Status object, its JSON text, or (as a message) any other text the server answered with. */
function parseStatus(body: unknown): StatusBody | undefined {
  if (body && typeof body === 'object') return body as StatusBody;
  if (typeof body !== 'string' || !body) return undefined;
  if (body.startsWith('{')) {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      // not a Status after all: fall through and show the text
    }
  }
  return { message: body };
}

function retryAfterHeader(err: unknown): number | undefined {
  const headers = (err as { headers?: Record<string, string | string[] | undefined> } | undefined)?.headers;
  const header = headers?.['retry-after'] ?? headers?.['Retry-After'];
  if (header === undefined) return undefined;
  const value = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** node-fetch puts the system error code on the error itself; undici and others on `cause`. */
function networkCodeOf(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
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
