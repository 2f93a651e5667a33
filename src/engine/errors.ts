/**
 * Why the engine refuses or stops, as data: each error names what it is about and its failure class
 * (core/failure-class.ts): whether a retry (or a `midflight resume`) may help.
 */
import { type FailureClass, mayRetry } from '../core/index.ts';

export type PlanRejection =
  /** The file is not a plan (hand-edited into an invalid shape, or another schema). */
  | 'invalid'
  /** The file stops before the plan does (its last fields are missing): cut off, not edited. */
  | 'incomplete'
  /** The content no longer hashes to the plan's id: it was edited after `midflight plan` wrote it. */
  | 'edited'
  /** Written for another cluster (fingerprint or API server differ). */
  | 'other-cluster'
  /** The cluster already runs the target. */
  | 'target-reached'
  /** The cluster moved on since the plan was written (its version is past the plan's source). */
  | 'version-passed'
  /** The policy inside the plan is not valid, or names a provider that cannot be built. */
  | 'invalid-policy';

/**
 * A pool flowing side by side with others (policy.poolConcurrency) stopped with work left because another
 * pool of its group failed: that failure, not this, is the run's reason (engine/pool-group.ts).
 */
export class AdmissionsHaltedError extends Error {
  constructor(stepId: string, reason: string) {
    super(`${stepId} stopped: ${reason}`);
    this.name = 'AdmissionsHaltedError';
  }
}

export class PlanRejectedError extends Error {
  readonly failureClass: FailureClass = 'permanent';
  constructor(
    readonly rejection: PlanRejection,
    message: string,
    /** Each problem found, e.g. `phases[2].steps[0].nodes: must be a list of node names`. */
    readonly problems: string[] = [],
  ) {
    super(message);
    this.name = 'PlanRejectedError';
  }
}

/** The run cannot do what was asked in its current state (resume a finished run, rollback a running one). */
export class RunStateError extends Error {
  readonly failureClass: FailureClass = 'permanent';
  constructor(
    readonly runId: string,
    readonly state: string,
    message: string,
  ) {
    super(message);
    this.name = 'RunStateError';
  }
}

/** A step failed; the run stops in a consistent, resumable state. */
export class StepFailedError extends Error {
  readonly failureClass: FailureClass;
  constructor(
    readonly stepId: string,
    readonly node: string | undefined,
    message: string,
    /** Whether `midflight resume` may get past it without a change (a transient failure). */
    retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StepFailedError';
    this.failureClass = retryable ? 'transient' : 'permanent';
  }
  get retryable(): boolean {
    return mayRetry(this.failureClass);
  }
}

/** A pre/post hook command failed: the policy says the run must stop. */
export class HookFailedError extends Error {
  /** Transient unless the hook could not even start: what it checks may pass on a resume. */
  readonly failureClass: FailureClass;
  constructor(
    readonly hook: string,
    readonly exitCode: number | null,
    message: string,
    readonly outputTail: string[],
    options: { failureClass?: FailureClass } = {},
  ) {
    super(message);
    this.name = 'HookFailedError';
    this.failureClass = options.failureClass ?? 'transient';
  }
}
