import type { SandboxContext } from '../context.ts';
import { internalError, StatusError, tooManyRequests } from '../status.ts';

/**
 * The API faults in force (ctx.faults.api) for one client request: waits the injected latency (wall time: it
 * models a slow network or server, which clients time with the wall clock) and returns the error to answer
 * with, if this request draws one.
 */
export async function injectApiFault(
  ctx: SandboxContext,
  verb: string,
  resource: string,
): Promise<StatusError | undefined> {
  const fault = ctx.faults.api;
  if (fault.verbs?.length && !fault.verbs.includes(verb)) return undefined;
  if (fault.resources?.length && !fault.resources.includes(resource)) return undefined;
  if (fault.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
  if (!(fault.errorRate > 0) || ctx.random() >= fault.errorRate) return undefined;
  switch (fault.errorCode) {
    case 429:
      return tooManyRequests(
        'the server has received too many requests and has asked us to try again later',
        undefined,
        1,
      );
    case 503:
      return new StatusError(
        503,
        'ServiceUnavailable',
        'the server is currently unable to handle the request',
      );
    default:
      return internalError('injected fault');
  }
}
