import { type Clock, mayRetry } from '../core/index.ts';
import { apiFailureOf, classifyFailure, KubeOperationError } from './api-failure.ts';

export interface RetryOptions {
  /** Attempts in all, the first included (default 8: survives a 30% error rate with odds of 1 in 15,000). */
  attempts?: number;
  /** Delay before the second attempt; doubles after each failure up to `maxDelayMs` (default 200 ms). */
  baseDelayMs?: number;
  /** Default 5 s. */
  maxDelayMs?: number;
  /** Which failures are worth another attempt (default: those `classifyFailure` calls transient or conflict). */
  retryIf?: (err: unknown) => boolean;
  /** The error thrown for the last failure, after `attempts` tries (default: a KubeOperationError). */
  failWith?: (err: unknown, attempts: number) => Error;
}

/** Writes refused as conflicts before rewriteOnConflict gives up: each means the object changed meanwhile. */
const MAX_CONFLICTS = 5;

/** A server's Retry-After is honoured up to this long: beyond it, a run would look hung. */
const MAX_RETRY_AFTER_MS = 30_000;

export const DEFAULT_RETRY: Required<Omit<RetryOptions, 'retryIf' | 'failWith'>> = {
  attempts: 8,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
};

/**
 * Runs `call` until it succeeds, retrying transient API failures with capped exponential backoff (and a
 * little jitter, so parallel callers do not retry in lockstep). The final failure is wrapped with
 * `operation`. A server's Retry-After is honoured when it asks for longer (up to 30 s).
 */
export async function withRetries<T>(
  clock: Clock,
  operation: string,
  call: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const { attempts, baseDelayMs, maxDelayMs } = { ...DEFAULT_RETRY, ...options };
  const retryIf = options.retryIf ?? ((err: unknown) => mayRetry(classifyFailure(err)));
  const failWith = options.failWith ?? ((err: unknown) => new KubeOperationError(operation, err));
  let delay = baseDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= attempts || !retryIf(err)) throw failWith(err, attempt);
      const asked = Math.min(MAX_RETRY_AFTER_MS, (apiFailureOf(err).retryAfterSeconds ?? 0) * 1000);
      await clock.sleep(Math.max(asked, jitter(delay)));
      delay = Math.min(maxDelayMs, delay * 2);
    }
  }
}

/** ±20% around `ms`. Note: Math.random is fine here: jitter only spreads load, it decides nothing. */
export function jitter(ms: number): number {
  return ms * (0.8 + Math.random() * 0.4);
}

/**
 * Runs a read-then-write `attempt` again, from a fresh read (`fresh`), while its write is refused as a
 * conflict (HTTP 409: the object changed since the read), up to MAX_CONFLICTS times. Transient failures are
 * the attempt's own to retry (withRetries with retryIf: transientOnly): retrying a stale write is pointless.
 */
export async function rewriteOnConflict<T>(attempt: (fresh: boolean) => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt(tries > 1);
    } catch (err) {
      if (tries >= MAX_CONFLICTS || classifyFailure(err) !== 'conflict') throw err;
    }
  }
}

/** For withRetries inside rewriteOnConflict: only transient failures; a conflict goes back to the read. */
export function transientOnly(err: unknown): boolean {
  return classifyFailure(err) === 'transient';
}
