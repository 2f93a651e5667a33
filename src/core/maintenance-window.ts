/**
 * Maintenance windows and exclusions (freeze periods) as pure rules: given the policy's windows and
 * exclusions and an instant, is a window open now (and until when), when does the next one open, is the
 * instant inside an exclusion. Time zones through `Intl.DateTimeFormat`; no clock is read here.
 *
 * A window is wall-clock time on the days it starts: `days: [fri], start: "22:00", end: "04:00"` opens on
 * Friday 22:00 and closes on Saturday 04:00 (it belongs to Friday). Each day's window is turned into an
 * interval of instants [opens, closes):
 *
 * - a time the clock skips (spring forward: 02:30 in Europe/Paris on the last Sunday of March) is reached
 *   the instant the clock jumps past it (03:00 local, 01:00Z): a window 02:00–04:00 that day lasts one hour;
 * - a time the clock shows twice (fall back: 02:30 on the last Sunday of October) is its first occurrence:
 *   a window 01:00–03:00 that day lasts three hours, and one 02:15–02:45 the first 30 minutes only.
 *
 * An exclusion's `start` and `end` are a date (`2026-12-20`) or a date-time (`2026-12-20T18:00`), local to
 * its `timeZone` (UTC by default) unless the text carries its own offset (`Z`, `+01:00`). A date alone as
 * `end` includes that whole day: `end: 2027-01-04` freezes until the start of 5 January.
 */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface MaintenanceWindow {
  /** The weekdays a window opens on (`mon` … `sun`), local to timeZone. */
  days: string[];
  /** "HH:MM" local to timeZone. */
  start: string;
  /** "HH:MM" (or "24:00"): earlier than start means the next day. */
  end: string;
  /** IANA time zone, e.g. Europe/Paris. */
  timeZone: string;
}

/** A freeze: no run starts, and a running one pauses, from `start` until `end`. */
export interface Exclusion {
  start: string;
  end: string;
  /** IANA time zone of start and end when they carry no offset; default UTC. */
  timeZone?: string;
  /** Why, shown when a run is refused or paused (e.g. "year-end freeze"). */
  reason: string;
}

/**
 * Open now and until when, or closed and when the next window opens (Infinity if none ever does, see
 * maintenanceWindowProblem); `closesAt` looks up to two weeks ahead. `timeZone`: that of the window open
 * now, or of the next one to open, the one to tell the time in.
 */
export type WindowState =
  | { open: true; closesAt: number; timeZone: string }
  | { open: false; opensAt: number; timeZone: string };

export interface ActiveExclusion {
  exclusion: Exclusion;
  /** The instants it covers, [from, until). */
  from: number;
  until: number;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const CLOCK_TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?)?$/;

/** Minutes after midnight of "HH:MM"; "24:00" too when `allowMidnightEnd` (a window's end). */
export function parseClockTime(text: string, allowMidnightEnd = false): number | undefined {
  if (allowMidnightEnd && text === '24:00') return 24 * 60;
  const m = CLOCK_TIME.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

/** The weekday a policy names: case-insensitive, the first three letters (`Monday` is `mon`). */
export function weekdayOf(name: string): Weekday | undefined {
  const day = name.toLowerCase().slice(0, 3);
  return (WEEKDAYS as readonly string[]).includes(day) ? (day as Weekday) : undefined;
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a window can never be used, or undefined when it can: its fields one by one are the policy
 * validator's; this is the rule that ties them together.
 */
export function maintenanceWindowProblem(w: MaintenanceWindow): string | undefined {
  const start = parseClockTime(w.start);
  const end = parseClockTime(w.end, true);
  if (start === undefined || end === undefined) return undefined;
  if (start === end)
    return `end equals start (${w.start}): a window must have a length; for a whole day write start "00:00" and end "24:00"`;
  return undefined;
}

/**
 * The instant an exclusion's `start` or `end` names, or undefined when the text is not a date or a
 * date-time. A date alone is the start of that day; as an `end`, the start of the next (the day is in).
 */
export function exclusionInstant(text: string, timeZone: string, edge: 'start' | 'end'): number | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, offset] = m;
  const date = Date.UTC(Number(y), Number(mo) - 1, Number(d));
  const back = new Date(date);
  if (
    back.getUTCFullYear() !== Number(y) ||
    back.getUTCMonth() !== Number(mo) - 1 ||
    back.getUTCDate() !== Number(d)
  )
    return undefined; // 2026-02-30
  if (h === undefined) return instantOf(edge === 'end' ? date + DAY : date, timeZone);
  const wall = date + (Number(h) * 60 + Number(mi)) * MINUTE + Number(s ?? 0) * 1000;
  if (offset === undefined) return instantOf(wall, timeZone);
  if (offset === 'Z') return wall;
  const sign = offset.startsWith('-') ? -1 : 1;
  return wall - sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6))) * MINUTE;
}

/** The exclusion `now` falls in (the first listed, if several), or undefined. */
export function exclusionAt(exclusions: readonly Exclusion[], now: number): ActiveExclusion | undefined {
  for (const exclusion of exclusions) {
    const tz = exclusion.timeZone ?? 'UTC';
    const from = exclusionInstant(exclusion.start, tz, 'start');
    const until = exclusionInstant(exclusion.end, tz, 'end');
    if (from === undefined || until === undefined) continue;
    if (from <= now && now < until) return { exclusion, from, until };
  }
  return undefined;
}

/**
 * Whether a window is open at `now`, and until when; if not, when the next one opens. No windows means
 * always open. Overlapping or touching windows (Mon 20:00–24:00 and Tue 00:00–06:00) count as one.
 */
export function windowStateAt(windows: readonly MaintenanceWindow[], now: number): WindowState {
  if (windows.length === 0) return { open: true, closesAt: Number.POSITIVE_INFINITY, timeZone: 'UTC' };
  const spans = windows.flatMap((w) => spansAround(w, now)).sort((a, b) => a.opens - b.opens);
  const merged: Span[] = [];
  for (const span of spans) {
    const last = merged[merged.length - 1];
    if (last && span.opens <= last.closes) last.closes = Math.max(last.closes, span.closes);
    else merged.push({ ...span });
  }
  const current = merged.find((s) => s.opens <= now && now < s.closes);
  if (current) return { open: true, closesAt: current.closes, timeZone: current.timeZone };
  const next = merged.find((s) => s.opens > now);
  return {
    open: false,
    opensAt: next?.opens ?? Number.POSITIVE_INFINITY,
    timeZone: next?.timeZone ?? windows[0]!.timeZone,
  };
}

/** "fri 22:00–04:00 Europe/Paris", for messages. */
export function describeWindow(w: MaintenanceWindow): string {
  return `${w.days.join(', ')} ${w.start}–${w.end} ${w.timeZone}`;
}

/** "2026-12-08 22:00 Europe/Paris (21:00Z)": an instant as a person in that zone reads it. */
export function formatInZone(instant: number, timeZone: string): string {
  if (!Number.isFinite(instant)) return 'never';
  const wall = new Date(wallTimeAt(instant, timeZone)).toISOString();
  const utc = new Date(instant).toISOString();
  const local = `${wall.slice(0, 10)} ${wall.slice(11, 16)} ${timeZone}`;
  if (timeZone === 'UTC') return local;
  return `${local} (${utc.slice(0, 10) === wall.slice(0, 10) ? '' : `${utc.slice(0, 10)} `}${utc.slice(11, 16)}Z)`;
}

interface Span {
  opens: number;
  closes: number;
  timeZone: string;
}

/**
 * The window's spans that start from the day before `now`'s local day to two weeks after it (so that a day
 * whose window the clock skips still has a next one a week later).
 */
function spansAround(w: MaintenanceWindow, now: number): Span[] {
  const start = parseClockTime(w.start);
  const end = parseClockTime(w.end, true);
  if (start === undefined || end === undefined || start === end) return [];
  const days = new Set(w.days.map(weekdayOf));
  const today = Math.floor(wallTimeAt(now, w.timeZone) / DAY) * DAY;
  const spans: Span[] = [];
  for (let k = -1; k <= 14; k++) {
    const day = today + k * DAY;
    // Note: `day` is a local date written as a UTC midnight, so its UTC weekday is the local one.
    if (!days.has(WEEKDAYS[(new Date(day).getUTCDay() + 6) % 7])) continue;
    const opens = instantOf(day + start * MINUTE, w.timeZone);
    const closes = instantOf(day + (end > start ? 0 : DAY) + end * MINUTE, w.timeZone);
    // A window inside a skipped hour has no instant at all that day.
    if (opens < closes) spans.push({ opens, closes, timeZone: w.timeZone });
  }
  return spans;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time in `timeZone` at `instant`, written as the UTC instant that shows the same. */
function wallTimeAt(instant: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  const part: Record<string, number> = {};
  for (const p of format.formatToParts(instant)) if (p.type !== 'literal') part[p.type] = Number(p.value);
  const ms = ((instant % 1000) + 1000) % 1000;
  return Date.UTC(part.year!, part.month! - 1, part.day!, part.hour!, part.minute!, part.second!) + ms;
}

/**
 * The first instant at which the wall clock in `timeZone` shows `wall` or later: the first of two when
 * the clock shows it twice (fall back), the jump when the clock skips it (spring forward).
 *
 * Note: the offsets a day before and a day after are the only candidates (no zone changes its offset
 * twice within two days). Worked example, Europe/Paris on 2026-03-29, wall 02:30: the offsets are +1h and
 * +2h; 00:30Z shows 01:30 and 01:30Z shows 03:30, neither 02:30, so it is skipped; the jump between them,
 * found by bisection, is 01:00Z (03:00 local).
 */
function instantOf(wall: number, timeZone: string): number {
  const offsets = [...new Set([wall - DAY, wall + DAY].map((t) => wallTimeAt(t, timeZone) - t))];
  const shown = offsets.map((o) => wall - o).filter((t) => wallTimeAt(t, timeZone) === wall);
  if (shown.length > 0) return Math.min(...shown);
  const candidates = offsets.map((o) => wall - o);
  let before = Math.min(...candidates);
  let after = Math.max(...candidates);
  if (wallTimeAt(before, timeZone) >= wall || wallTimeAt(after, timeZone) < wall) return before;
  while (after - before > 1) {
    const mid = Math.floor((before + after) / 2);
    if (wallTimeAt(mid, timeZone) >= wall) after = mid;
    else before = mid;
  }
  return after;
}
