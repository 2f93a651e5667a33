import { describe, expect, it } from 'vitest';
import { type BackupEntry, selectPrunable } from '../../src/backup/index.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-07T12:00:00Z');
/** Five daily snapshots, newest first: 0, 1, 2, 3, 4 days old. */
const DAILY: BackupEntry[] = [0, 1, 2, 3, 4].map((age) => ({
  file: `/b/etcd-${age}.db`,
  takenAt: new Date(NOW - age * DAY).toISOString(),
  size: 1,
}));

describe('which snapshots a retention policy lets go', () => {
  it.each([
    { retention: {}, gone: [] },
    { retention: { keepLast: 2 }, gone: [2, 3, 4] },
    { retention: { maxAgeMs: 2.5 * DAY }, gone: [3, 4] },
    { retention: { keepLast: 2, maxAgeMs: 3 * DAY }, gone: [4] },
    { retention: { keepLast: 0 }, gone: [1, 2, 3, 4] },
    { retention: { maxAgeMs: 0 }, gone: [1, 2, 3, 4] },
  ])('$retention lets go of the ones $gone days old (never the newest)', ({ retention, gone }) => {
    expect(selectPrunable(DAILY, retention, NOW).map((e) => e.file)).toEqual(
      gone.map((age) => `/b/etcd-${age}.db`),
    );
  });
});
