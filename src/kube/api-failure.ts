/**
 * The one reading of a failed Kubernetes request, whatever shape it came in (client-node's ApiException,
 * node-fetch's network errors, our own requestRaw answers): its HTTP status, the Status it carried, the
 * network code. The steps that change a cluster (cordon, drain, lease, node-wait, events) act on this
 * reading; `errors.ts` turns it into the one-line errors that read-only commands show.
 */
import { ApiException } from '@kubernetes/client-node';
import { declaredFailureClass, type FailureClass, mayRetry } from '../core/index.ts';

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

/**
 * System error codes of a request that got no answer but may get one later: the API server is restarting
 * (a refused connection during a control-plane upgrade lasts seconds), a connection dropped, a name server
 * was slow. Any other code (a host name that does not resolve, a certificate the CA does not vouch for) is
 * permanent.
 */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The class of a failed Kubernetes request, from its HTTP status or, with no answer, its network code. */
export function apiFailureClass(failure: ApiFailure): FailureClass {
  const { code, networkCode } = failure;
  if (code === undefined)
    return networkCode && TRANSIENT_NETWORK_CODES.has(networkCode) ? 'transient' : 'permanent';
  if (code === 409) return 'conflict';
  // Note: 501 Not Implemented will not be implemented on the next try.
  if (code === 429 || (code >= 500 && code !== 501)) return 'transient';
  return 'permanent';
}

/**
 * The one classification of any failure (see core/failure-class.ts): the class an error declares, else the
 * class of the Kubernetes answer it carries, else permanent (a TypeError, an unknown error).
 */
export function classifyFailure(err: unknown): FailureClass {
  const declared = declaredFailureClass(err);
  if (declared) return declared;
  const failure = apiFailureOf(err);
  if (failure.code === undefined && failure.networkCode === undefined) return 'permanent';
  return apiFailureClass(failure);
}

export function isNotFound(err: unknown): boolean {
  return apiFailureOf(err).code === 404;
}

/** A failed Kubernetes request, named by what was being done: `cordon node general-1: …`. */
export class KubeOperationError extends Error {
  readonly failure: ApiFailure;
  readonly failureClass: FailureClass;
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    const failure = apiFailureOf(cause);
    const code = failure.code === undefined ? 'no answer' : `HTTP ${failure.code}`;
    super(`${operation}: ${failure.message} (${code})`, { cause });
    this.name = 'KubeOperationError';
    this.failure = failure;
    this.failureClass = apiFailureClass(failure);
  }
  get retryable(): boolean {
    return mayRetry(this.failureClass);
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
