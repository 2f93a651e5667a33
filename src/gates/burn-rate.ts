/**
 * Multi-window burn rate, as the SRE workbook ("Alerting on SLOs") builds it. The burn rate is how many
 * times faster than "exactly on budget" errors are being spent:
 *
 *   burn = errorRatio / (1 − objective)
 *
 * Note: with a 99.9 % objective the budget is 0.1 % of requests; an error ratio of 0.2 % over a window is a
 * burn of 2: kept up, it would spend a 30-day budget in 15 days.
 *
 * One window alone either reacts slowly (long) or flaps (short). A pair fires only when BOTH its long and its
 * short window burn faster than the threshold: the long one shows it is significant, the short one that it
 * is still happening. The workbook's pairs for a 30-day SLO are (1h, 5m) and (6h, 30m); they scale with the
 * SLO's window (1/720 and 1/120 of it, each short window 1/12 of its long one).
 */
import { formatDuration, parseDuration } from '../core/index.ts';
import type { BurnWindowPair } from './gate-types.ts';

export const DEFAULT_SLO_WINDOW = '30d';
/** The seed's threshold: halt when the budget burns twice as fast as it may. */
export const DEFAULT_BURN_THRESHOLD = 2;

/** The workbook's page-level pairs scaled to an SLO window: 30d gives (1h, 5m) and (6h, 30m). */
export function defaultBurnWindows(sloWindow: string): BurnWindowPair[] {
  const slo = parseDuration(sloWindow);
  return [720, 120].map((fraction) => {
    const long = Math.max(60_000, Math.round(slo / fraction / 1000) * 1000);
    const short = Math.max(60_000, Math.round(long / 12 / 1000) * 1000);
    return { long: formatDuration(long), short: formatDuration(short) };
  });
}

/** errorRatio / (1 − objective). An objective of 1 leaves no budget: any error is an infinite burn. */
export function burnRate(errorRatio: number, objective: number): number {
  const budget = 1 - objective;
  if (budget <= 0) return errorRatio > 0 ? Number.POSITIVE_INFINITY : 0;
  return errorRatio / budget;
}

/** The error ratios measured over each pair's windows. */
export interface MeasuredPair {
  long: number;
  short: number;
}

/**
 * The gate's value: for each pair the burn both of its windows sustain (the smaller of the two), and of
 * those the worst. The gate fails when it exceeds the threshold, i.e. when some pair has both windows over it.
 */
export function multiWindowBurn(pairs: MeasuredPair[], objective: number): number {
  if (pairs.length === 0) throw new RangeError('a burn-rate gate needs at least one window pair');
  return Math.max(...pairs.map((p) => Math.min(burnRate(p.long, objective), burnRate(p.short, objective))));
}
