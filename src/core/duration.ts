/**
 * Durations as people write them in policy files: Go's `time.ParseDuration` units (`90s`, `15m`, `1h30m`,
 * `500ms`) plus `d` for days. A bare number is seconds.
 */
export class DurationParseError extends Error {
  constructor(readonly input: unknown) {
    super(`${JSON.stringify(input)} is not a duration (e.g. 30s, 15m, 1h30m, 2d)`);
    this.name = 'DurationParseError';
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds for `15m`, `1h30m`, `90` (seconds) or a number (seconds). */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new DurationParseError(input);
    return input * 1000;
  }
  const text = input.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(part)) {
    if (m.index !== consumed) throw new DurationParseError(input);
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== text.length) throw new DurationParseError(input);
  return total;
}

/** Compact form for plans and runbooks: 5400000 → "1h30m", 90000 → "1m30s", 0 → "0s". */
export function formatDuration(ms: number): string {
  let seconds = Math.round(ms / 1000);
  if (seconds <= 0) return '0s';
  const parts: string[] = [];
  const days = Math.floor(seconds / 86_400);
  seconds -= days * 86_400;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  if (days) parts.push(`${days}d`);
  if (hours) parts.push(`${hours}h`);
  if (minutes) parts.push(`${minutes}m`);
  if (seconds && !days) parts.push(`${seconds}s`);
  return parts.join('');
}
