/**
 * How a failure is handled. Every caller that decides whether to try again (API retries, the drain, node
 * steps, hooks, the CLI's exit message) asks `classifyFailure` in kube/api-failure.ts, which reads an
 * error's declared class or the Kubernetes answer it carries; this file holds the classes themselves.
 *
 * - transient: the same action may succeed later as it is (a 503, a reset or refused connection while an
 *   API server restarts, a command that timed out): try again after a pause.
 * - conflict: the object changed under us (HTTP 409): read it again and redo the change.
 * - permanent: trying again as it is cannot help (bad input, no permission, a bug such as a TypeError).
 *
 * IMPORTANT: an unknown failure is permanent. Retrying a bug hides it, and may repeat what it broke.
 */
export const FAILURE_CLASSES = ['transient', 'conflict', 'permanent'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** Whether doing it again may succeed (after a pause for a transient failure, a fresh read for a conflict). */
export function mayRetry(failureClass: FailureClass): boolean {
  return failureClass !== 'permanent';
}

/** The class an error declares in its `failureClass` field, if it declares a valid one. */
export function declaredFailureClass(err: unknown): FailureClass | undefined {
  const declared = (err as { failureClass?: unknown } | null | undefined)?.failureClass;
  return (FAILURE_CLASSES as readonly unknown[]).includes(declared) ? (declared as FailureClass) : undefined;
}
