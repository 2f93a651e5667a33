import { describe, expect, it } from 'vitest';
import {
  type Exclusion,
  exclusionAt,
  exclusionInstant,
  formatInZone,
  type MaintenanceWindow,
  maintenanceWindowProblem,
  windowStateAt,
} from '../../src/core/maintenance-window.ts';

const at = (iso: string) => Date.parse(iso);
const win = (days: string[], start: string, end: string, timeZone = 'UTC'): MaintenanceWindow => ({
  days,
  start,
  end,
  timeZone,
});

/** What windowStateAt says, with instants as ISO text so a failure reads as times. */
function stateAt(windows: MaintenanceWindow[], now: string): string {
  const s = windowStateAt(windows, at(now));
  if (s.open)
    return `open until ${Number.isFinite(s.closesAt) ? new Date(s.closesAt).toISOString() : 'ever'}`;
  return `closed until ${new Date(s.opensAt).toISOString()}`;
}

describe('maintenance windows', () => {
  // 2026-12-07 is a Monday.
  it.each([
    [
      'inside a same-day window',
      [win(['mon'], '09:00', '17:00')],
      '2026-12-07T10:00:00Z',
      'open until 2026-12-07T17:00:00.000Z',
    ],
    [
      'its end is outside',
      [win(['mon'], '09:00', '17:00')],
      '2026-12-07T17:00:00Z',
      'closed until 2026-12-14T09:00:00.000Z',
    ],
    [
      'its start is inside',
      [win(['mon'], '09:00', '17:00')],
      '2026-12-07T09:00:00Z',
      'open until 2026-12-07T17:00:00.000Z',
    ],
    [
      'before it, the same day',
      [win(['mon', 'wed'], '09:00', '17:00')],
      '2026-12-07T08:59:00Z',
      'closed until 2026-12-07T09:00:00.000Z',
    ],
    [
      'after it: the next listed day',
      [win(['mon', 'wed'], '09:00', '17:00')],
      '2026-12-07T18:00:00Z',
      'closed until 2026-12-09T09:00:00.000Z',
    ],
    [
      'day names as written (Monday, FRI)',
      [win(['Monday', 'FRI'], '09:00', '17:00')],
      '2026-12-08T10:00:00Z',
      'closed until 2026-12-11T09:00:00.000Z',
    ],
    // Crossing midnight: the window belongs to the day it starts.
    [
      'after midnight, in Friday’s window',
      [win(['fri'], '22:00', '04:00')],
      '2026-12-12T03:00:00Z',
      'open until 2026-12-12T04:00:00.000Z',
    ],
    [
      'Saturday night is not Friday’s',
      [win(['fri'], '22:00', '04:00')],
      '2026-12-12T23:00:00Z',
      'closed until 2026-12-18T22:00:00.000Z',
    ],
    [
      'early Saturday without Friday listed',
      [win(['sat'], '22:00', '04:00')],
      '2026-12-12T02:00:00Z',
      'closed until 2026-12-12T22:00:00.000Z',
    ],
    [
      'a local zone (Paris, winter: +1)',
      [win(['tue'], '22:00', '04:00', 'Europe/Paris')],
      '2026-12-08T21:30:00Z',
      'open until 2026-12-09T03:00:00.000Z',
    ],
    [
      'a half-hour zone (Kolkata, +5:30)',
      [win(['mon'], '23:00', '01:00', 'Asia/Kolkata')],
      '2026-12-07T12:00:00Z',
      'closed until 2026-12-07T17:30:00.000Z',
    ],
    [
      'a whole day, 00:00–24:00',
      [win(['mon'], '00:00', '24:00')],
      '2026-12-07T23:59:00Z',
      'open until 2026-12-08T00:00:00.000Z',
    ],
    [
      'touching windows count as one',
      [win(['mon'], '20:00', '24:00'), win(['tue'], '00:00', '06:00')],
      '2026-12-07T21:00:00Z',
      'open until 2026-12-08T06:00:00.000Z',
    ],
    [
      'overlapping windows count as one',
      [win(['mon'], '08:00', '12:00'), win(['mon'], '10:00', '14:00')],
      '2026-12-07T09:00:00Z',
      'open until 2026-12-07T14:00:00.000Z',
    ],
    // DST, spring forward. Paris 2026-03-29: 02:00 local becomes 03:00 (01:00Z); +1 before, +2 after.
    [
      'spring forward: a start the clock skips opens at the jump',
      [win(['sun'], '02:00', '04:00', 'Europe/Paris')],
      '2026-03-28T12:00:00Z',
      'closed until 2026-03-29T01:00:00.000Z',
    ],
    [
      'spring forward: that window lasts one hour',
      [win(['sun'], '02:00', '04:00', 'Europe/Paris')],
      '2026-03-29T01:30:00Z',
      'open until 2026-03-29T02:00:00.000Z',
    ],
    [
      'spring forward: a window inside the skipped hour has no instant',
      [win(['sun'], '02:10', '02:50', 'Europe/Paris')],
      '2026-03-28T12:00:00Z',
      'closed until 2026-04-05T00:10:00.000Z',
    ],
    [
      'spring forward: New York, 02:30 skipped',
      [win(['sun'], '02:30', '03:30', 'America/New_York')],
      '2026-03-08T06:00:00Z',
      'closed until 2026-03-08T07:00:00.000Z',
    ],
    [
      'spring forward: New York window ends at 03:30 EDT',
      [win(['sun'], '02:30', '03:30', 'America/New_York')],
      '2026-03-08T07:10:00Z',
      'open until 2026-03-08T07:30:00.000Z',
    ],
    // DST, fall back. Paris 2026-10-25: 03:00 local becomes 02:00 again (01:00Z); +2 before, +1 after.
    [
      'fall back: a window over the repeated hour lasts three hours',
      [win(['sun'], '01:00', '03:00', 'Europe/Paris')],
      '2026-10-24T23:30:00Z',
      'open until 2026-10-25T02:00:00.000Z',
    ],
    [
      'fall back: a start shown twice is its first occurrence',
      [win(['sun'], '02:30', '05:00', 'Europe/Paris')],
      '2026-10-24T23:30:00Z',
      'closed until 2026-10-25T00:30:00.000Z',
    ],
    [
      'fall back: a window within the repeated hour ends at its first end',
      [win(['sun'], '02:15', '02:45', 'Europe/Paris')],
      '2026-10-25T00:30:00Z',
      'open until 2026-10-25T00:45:00.000Z',
    ],
    [
      'fall back: and does not open again in the second one',
      [win(['sun'], '02:15', '02:45', 'Europe/Paris')],
      '2026-10-25T01:30:00Z',
      'closed until 2026-11-01T01:15:00.000Z',
    ],
    [
      'the week after a DST change keeps local time',
      [win(['sun'], '01:00', '03:00', 'Europe/Paris')],
      '2026-10-25T03:00:00Z',
      'closed until 2026-11-01T00:00:00.000Z',
    ],
  ] as const)('%s', (_what, windows, now, expected) => {
    expect(stateAt([...windows], now)).toBe(expected);
  });

  it('no windows means always open', () => {
    expect(windowStateAt([], at('2026-12-07T10:00:00Z'))).toEqual({
      open: true,
      closesAt: Number.POSITIVE_INFINITY,
      timeZone: 'UTC',
    });
  });

  it.each([
    ['22:00', '22:00', /end equals start \(22:00\).*"00:00" and end "24:00"/],
    ['00:00', '24:00', undefined],
    ['22:00', '04:00', undefined],
  ])('start %s end %s: %s', (start, end, problem) => {
    const found = maintenanceWindowProblem(win(['mon'], start, end));
    if (problem) expect(found).toMatch(problem);
    else expect(found).toBeUndefined();
  });
});

it('tells the time in the zone of the window open now, or of the next to open', () => {
  const windows = [
    win(['mon'], '09:00', '10:00', 'Asia/Tokyo'),
    win(['mon'], '09:00', '10:00', 'Europe/Paris'),
  ];
  // Monday 09:30 in Tokyo is 00:30Z; Monday 09:00 in Paris is 08:00Z.
  expect(windowStateAt(windows, at('2026-12-07T00:30:00Z'))).toMatchObject({
    open: true,
    timeZone: 'Asia/Tokyo',
  });
  expect(windowStateAt(windows, at('2026-12-07T02:00:00Z'))).toMatchObject({
    open: false,
    timeZone: 'Europe/Paris',
  });
});

describe('exclusions', () => {
  const freeze: Exclusion = {
    start: '2026-12-20',
    end: '2027-01-04',
    timeZone: 'Europe/Paris',
    reason: 'year-end freeze',
  };

  it.each([
    ['just before it starts (Paris midnight is 23:00Z)', '2026-12-19T22:59:00Z', false],
    ['its first instant', '2026-12-19T23:00:00Z', true],
    ['during it', '2026-12-25T12:00:00Z', true],
    ['the last day is in (a date alone as end)', '2027-01-04T22:59:00Z', true],
    ['the day after is out', '2027-01-04T23:00:00Z', false],
  ])('%s: inside %s', (_what, now, inside) => {
    const found = exclusionAt([freeze], at(now));
    expect(found !== undefined).toBe(inside);
    if (found) {
      expect(found.exclusion.reason).toBe('year-end freeze');
      expect(new Date(found.until).toISOString()).toBe('2027-01-04T23:00:00.000Z');
    }
  });

  it.each([
    ['2026-12-20', 'UTC', 'start', '2026-12-20T00:00:00.000Z'],
    ['2026-12-20', 'UTC', 'end', '2026-12-21T00:00:00.000Z'],
    ['2026-12-20T18:00', 'Europe/Paris', 'start', '2026-12-20T17:00:00.000Z'],
    ['2026-12-20 18:00:30', 'UTC', 'end', '2026-12-20T18:00:30.000Z'],
    ['2026-12-20T18:00Z', 'Europe/Paris', 'start', '2026-12-20T18:00:00.000Z'],
    ['2026-12-20T18:00+05:30', 'Europe/Paris', 'start', '2026-12-20T12:30:00.000Z'],
    ['2026-12-20T18:00-08:00', 'UTC', 'start', '2026-12-21T02:00:00.000Z'],
    // A local time the clock skips is reached when it jumps.
    ['2026-03-29T02:30', 'Europe/Paris', 'start', '2026-03-29T01:00:00.000Z'],
  ] as const)('%s in %s as %s is %s', (text, tz, edge, iso) => {
    expect(new Date(exclusionInstant(text, tz, edge)!).toISOString()).toBe(iso);
  });

  it.each(['2026-02-30', '2026-12-20T25:00', '20-12-2026', 'tomorrow', '2026-12-20T18:00+25:00'])(
    '%s is not a date',
    (text) => {
      expect(exclusionInstant(text, 'UTC', 'start')).toBeUndefined();
    },
  );

  it('a date-time with an offset ignores the time zone; the first exclusion that holds is reported', () => {
    const list: Exclusion[] = [
      { start: '2026-12-01T00:00Z', end: '2026-12-02T00:00Z', timeZone: 'Asia/Tokyo', reason: 'a' },
      { start: '2026-11-30', end: '2026-12-03', reason: 'b' },
    ];
    expect(exclusionAt(list, at('2026-12-01T12:00:00Z'))?.exclusion.reason).toBe('a');
    expect(exclusionAt(list, at('2026-12-02T12:00:00Z'))?.exclusion.reason).toBe('b');
    expect(exclusionAt(list, at('2026-12-04T00:00:00Z'))).toBeUndefined();
  });
});

describe('formatInZone', () => {
  it.each([
    [at('2026-12-08T21:00:00Z'), 'Europe/Paris', '2026-12-08 22:00 Europe/Paris (21:00Z)'],
    [at('2026-12-08T23:30:00Z'), 'Europe/Paris', '2026-12-09 00:30 Europe/Paris (2026-12-08 23:30Z)'],
    [at('2026-12-08T21:00:00Z'), 'UTC', '2026-12-08 21:00 UTC'],
    [Number.POSITIVE_INFINITY, 'UTC', 'never'],
  ])('%s in %s', (instant, tz, text) => {
    expect(formatInZone(instant, tz)).toBe(text);
  });
});
