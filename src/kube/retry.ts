import type { Clock } from '../core/clock.ts';
import { apiFailureOf, isRetryable, KubeOperationError } from './api-failure.ts';

export interface RetryOptions {
  /** Attempts in all, the first included (default 8: survives a 30% error rate with odds of 1 in 15,000). */
  attempts?: number;
  /** Delay before the second attempt; doubles after each failure up to `maxDelayMs` (default 200 ms). */
  baseDelayMs?: number;
  /** Default 5 s. */
  maxDelayMs?: number;
  /** Which failures are worth another attempt (default: network errors, 429, 5xx and 409). */
  retryIf?: (err: unknown) => boolean;
}

export const DEFAULT_RETRY: Required<Omit<RetryOptions, 'retryIf'>> = {
  attempts: 8,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
};

/**
 * Runs `call` until it succeeds, retrying transient API failures with capped exponential backoff (and a
 * little jitter, so parallel callers do not retry in lockstep). The final failure is wrapped with
 * `operation`. A server's `retryAfterSeconds` is honoured when it asks for longer.
 */
export async function withRetries<T>(
  clock: Clock,
  operation: string,
  call: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const { attempts, baseDelayMs, maxDelayMs } = { ...DEFAULT_RETRY, ...options };
  const retryIf = options.retryIf ?? ((err: unknown) => isRetryable(apiFailureOf(err)));
  let delay = baseDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= attempts || !retryIf(err)) throw new KubeOperationError(operation, err);
      const asked = (apiFailureOf(err).retryAfterSeconds ?? 0) * 1000;
      await clock.sleep(Math.max(asked, jitter(delay)));
      delay = Math.min(maxDelayMs, delay * 2);
    }
  }
}

/** ±20% around `ms`. Note: Math.random is fine here: jitter only spreads load, it decides nothing. */
export function jitter(ms: number): number {
  return ms * (0.8 + Math.random() * 0.4);
}
