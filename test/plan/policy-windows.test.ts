/** The policy's maintenanceWindows, onOutsideWindow and exclusions: what is accepted, and each mistake named. */
import { describe, expect, it } from 'vitest';
import { defaultPolicy, policyFromYaml, validatePolicy } from '../../src/plan/index.ts';

describe('policy: maintenance windows and exclusions', () => {
  it('reads windows, onOutsideWindow and exclusions as written', () => {
    const result = policyFromYaml(
      `maintenanceWindows:
  - {days: [Tuesday, WED], start: "22:00", end: "04:00", timeZone: Europe/Paris}
  - {days: [sat], start: "00:00", end: "24:00"}
onOutsideWindow: pause
exclusions:
  - {start: 2026-12-20, end: 2027-01-04, timeZone: Europe/Paris, reason: year-end freeze}
  - {start: "2026-11-27T06:00Z", end: "2026-11-28T06:00Z", reason: black friday}
`,
      'policy.yaml',
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.policy.maintenanceWindows).toEqual([
      { days: ['tue', 'wed'], start: '22:00', end: '04:00', timeZone: 'Europe/Paris' },
      { days: ['sat'], start: '00:00', end: '24:00', timeZone: 'UTC' },
    ]);
    expect(result.policy.onOutsideWindow).toBe('pause');
    expect(result.policy.exclusions).toEqual([
      { start: '2026-12-20', end: '2027-01-04', timeZone: 'Europe/Paris', reason: 'year-end freeze' },
      { start: '2026-11-27T06:00Z', end: '2026-11-28T06:00Z', reason: 'black friday' },
    ]);
  });

  it('leaves onOutsideWindow and exclusions out when unset, so plans written before keep their id', () => {
    const result = validatePolicy({}, 'p.yaml');
    expect(result.ok && Object.keys(result.policy)).not.toContain('exclusions');
    expect(Object.keys(defaultPolicy())).not.toContain('onOutsideWindow');
  });

  it.each([
    [
      { maintenanceWindows: [{ days: ['mon'], start: '22:00', end: '22:00' }] },
      'maintenanceWindows[0].end',
      /end equals start \(22:00\)/,
    ],
    [
      { maintenanceWindows: [{ days: ['mon'], start: '24:00', end: '02:00' }] },
      'maintenanceWindows[0].start',
      /between "00:00" and "23:59"/,
    ],
    [
      { maintenanceWindows: [{ days: ['mon'], start: '9:00', end: '17:00' }] },
      'maintenanceWindows[0].start',
      /HH:MM/,
    ],
    [
      { maintenanceWindows: [{ days: ['mon'], start: 900, end: '17:00' }] },
      'maintenanceWindows[0].start',
      /quoted \(got 900\)/,
    ],
    [{ maintenanceWindows: [{ days: ['mon'], start: '09:00' }] }, 'maintenanceWindows[0].end', /is required/],
    [
      { maintenanceWindows: [{ days: [], start: '09:00', end: '17:00' }] },
      'maintenanceWindows[0].days',
      /weekdays/,
    ],
    [
      { maintenanceWindows: [{ days: ['mon'], start: '09:00', end: '17:00', timeZone: 'Mars/Olympus' }] },
      'maintenanceWindows[0].timeZone',
      /unknown time zone "Mars\/Olympus"/,
    ],
    [
      { maintenanceWindows: [{ days: ['mon'], start: '09:00', end: '17:00', tz: 'UTC' }] },
      'maintenanceWindows[0].tz',
      /unknown field/,
    ],
    [{ onOutsideWindow: 'skip' }, 'onOutsideWindow', /wait, pause/],
    [{ exclusions: { start: '2026-12-20' } }, 'exclusions', /must be a list/],
    [{ exclusions: [{ start: '2026-12-20', end: '2026-12-24' }] }, 'exclusions[0].reason', /is required/],
    [
      { exclusions: [{ start: '2026-12-20', end: '2026-12-24', reason: '' }] },
      'exclusions[0].reason',
      /non-empty/,
    ],
    [{ exclusions: [{ end: '2026-12-24', reason: 'x' }] }, 'exclusions[0].start', /is required/],
    [
      { exclusions: [{ start: '2026-02-30', end: '2026-03-02', reason: 'x' }] },
      'exclusions[0].start',
      /a date \(2026-12-20\)/,
    ],
    [
      { exclusions: [{ start: '2026-12-20', end: 'christmas', reason: 'x' }] },
      'exclusions[0].end',
      /got "christmas"/,
    ],
    [
      { exclusions: [{ start: '2026-12-24', end: '2026-12-20', reason: 'x' }] },
      'exclusions[0].end',
      /after start \(2026-12-24\): 2026-12-20 is before it/,
    ],
    [
      { exclusions: [{ start: '2026-12-20T10:00', end: '2026-12-20T10:00', reason: 'x' }] },
      'exclusions[0].end',
      /is the same instant/,
    ],
    [
      { exclusions: [{ start: '2026-12-20T10:00+01:00', end: '2026-12-20T09:00Z', reason: 'x' }] },
      'exclusions[0].end',
      /is the same instant/,
    ],
    [
      { exclusions: [{ start: '2026-12-20', end: '2026-12-24', reason: 'x', timeZone: 'Paris' }] },
      'exclusions[0].timeZone',
      /unknown time zone/,
    ],
    [
      { exclusions: [{ start: '2026-12-20', end: '2026-12-24', reason: 'x', why: 'y' }] },
      'exclusions[0].why',
      /unknown field/,
    ],
  ])('%j → error on %s', (raw, field, message) => {
    const result = validatePolicy(raw, 'p.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = result.errors.find((e) => e.field === field);
    expect(error, JSON.stringify(result.errors)).toBeDefined();
    expect(error!.message).toMatch(message);
  });

  it('points at the line of the mistake in the file', () => {
    const result = policyFromYaml(
      `exclusions:
  - start: 2026-12-24
    end: 2026-12-20
    reason: freeze
`,
      'policy.yaml',
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toMatchObject([{ field: 'exclusions[0].end', line: 3 }]);
  });
});
