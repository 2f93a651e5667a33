/**
 * The one error an etcd call throws: which endpoint, what was being done, and what went wrong, so a message
 * names the member a user has to look at. `retryable` is false for answers that will not change by asking
 * again (a bad request, a refused certificate, a key file that cannot be read).
 */
export class EtcdError extends Error {
  constructor(
    /** The member's client URL (`https://10.0.0.1:2379`). */
    readonly endpoint: string,
    /** What was being done, as a verb phrase: "read the member status". */
    readonly operation: string,
    detail: string,
    readonly retryable: boolean,
    /** The gRPC code etcd answered with, when it answered with one (9 = failed precondition, …). */
    readonly grpcCode?: number,
  ) {
    super(`etcd ${endpoint}: ${operation}: ${detail}`);
    this.name = 'EtcdError';
  }
}
