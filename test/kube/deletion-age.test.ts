/**
 * How long ago a pod was marked for deletion, as the drain's skipWaitForDeleteTimeout reads it: from a typed
 * pod (a Date) or from plain JSON (RFC 3339 text), which the drain's watch of leaving pods reads.
 */
import { describe, expect, it } from 'vitest';
import { deletionAgeSeconds } from '../../src/kube/drain-filters.ts';

describe('deletionAgeSeconds', () => {
  const now = Date.UTC(2026, 0, 15, 10, 0, 30);
  it.each([
    ['a Date', new Date(Date.UTC(2026, 0, 15, 10)), 30],
    ['RFC 3339 text', '2026-01-15T10:00:00Z', 30],
    ['no deletion timestamp', undefined, undefined],
  ])('reads %s', (_, deletionTimestamp, seconds) => {
    expect(deletionAgeSeconds({ metadata: { deletionTimestamp } }, now)).toBe(seconds);
  });
});
