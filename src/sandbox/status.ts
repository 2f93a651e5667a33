/**
 * Kubernetes `Status` errors, built the way k8s.io/apimachinery's `errors.go` builds them, so kubectl and
 * client-node read them exactly as they read a real API server's.
 */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string | undefined,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'StatusError';
  }

  toBody(): StatusBody {
    // Field order follows the real server's output, which some golden comparisons rely on.
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      ...(this.reason ? { reason: this.reason } : {}),
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** "pods" for the core group, "poddisruptionbudgets.policy" for another: how messages name a resource. */
export interface GroupResource {
  group: string;
  resource: string;
}

function qualified({ group, resource }: GroupResource): string {
  return group ? `${resource}.${group}` : resource;
}

export function notFound(gr: GroupResource, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualified(gr)} "${name}" not found`, {
    name,
    group: gr.group || undefined,
    kind: gr.resource,
  });
}

export function alreadyExists(gr: GroupResource, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, {
    name,
    group: gr.group || undefined,
    kind: gr.resource,
  });
}

export function conflict(gr: GroupResource, name: string, why: string): StatusError {
  return new StatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`,
    {
      name,
      group: gr.group || undefined,
      kind: gr.resource,
    },
  );
}

export const STALE_OBJECT =
  'the object has been modified; please apply your changes to the latest version and try again';

export interface FieldError {
  /** A field error type as Go's field.ErrorType names it: FieldValueRequired, FieldValueInvalid, … */
  reason: string;
  field: string;
  message: string;
}

export function invalid(kind: string, name: string, errors: FieldError[], group = ''): StatusError {
  const summary = errors.map((e) => `${e.field}: ${e.message}`).join(', ');
  const aggregated = errors.length > 1 ? `[${summary}]` : summary;
  return new StatusError(422, 'Invalid', `${kind} "${name}" is invalid: ${aggregated}`, {
    name,
    group: group || undefined,
    kind,
    causes: errors.map((e) => ({ reason: e.reason, message: e.message, field: e.field })),
  });
}

export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

export function forbidden(gr: GroupResource, name: string, why: string): StatusError {
  return new StatusError(403, 'Forbidden', `${qualified(gr)} "${name}" is forbidden: ${why}`, {
    name,
    group: gr.group || undefined,
    kind: gr.resource,
  });
}

export function methodNotSupported(gr: GroupResource, verb: string): StatusError {
  return new StatusError(
    405,
    'MethodNotAllowed',
    `${verb} is not supported on resources of kind "${qualified(gr)}"`,
    {
      group: gr.group || undefined,
      kind: gr.resource,
    },
  );
}

export function tooManyRequests(
  message: string,
  causes?: StatusCause[],
  retryAfterSeconds?: number,
): StatusError {
  const details: StatusDetails = {};
  if (causes) details.causes = causes;
  if (retryAfterSeconds) details.retryAfterSeconds = retryAfterSeconds;
  return new StatusError(429, 'TooManyRequests', message, Object.keys(details).length ? details : undefined);
}

/** What a watch from a compacted resourceVersion gets, inside a 200 stream (see watch_cache.go). */
export function resourceExpired(requested: number, oldest: number): StatusError {
  return new StatusError(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

export function internalError(why: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${why}`, {
    causes: [{ message: why }],
  });
}

export function unauthorized(): StatusError {
  return new StatusError(401, 'Unauthorized', 'Unauthorized');
}
