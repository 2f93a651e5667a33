import { describe, expect, it } from 'vitest';
import { poolInFlightLimit } from '../../src/core/pool-in-flight-limit.ts';

describe('poolInFlightLimit', () => {
  it.each([
    ['the default: one node', {}, 10, { unavailable: 1, surge: 0, maxNodes: 1 }],
    ['a percentage rounds down', { maxUnavailable: '25%' }, 10, { unavailable: 2, surge: 0, maxNodes: 2 }],
    [
      'maxSurge only counts for replace',
      { maxUnavailable: 2, maxSurge: 2 },
      10,
      { unavailable: 2, surge: 0, maxNodes: 2 },
    ],
    [
      'replace adds the surge',
      { maxUnavailable: '25%', maxSurge: 2, strategy: 'replace' },
      10,
      { unavailable: 2, surge: 2, maxNodes: 4 },
    ],
    [
      'surge only',
      { maxUnavailable: 0, maxSurge: '20%', strategy: 'replace' },
      10,
      { unavailable: 0, surge: 2, maxNodes: 2 },
    ],
    ['never stuck at zero', { maxUnavailable: '0%' }, 10, { unavailable: 0, surge: 0, maxNodes: 1 }],
    ['never more than the pool', { maxUnavailable: 8 }, 3, { unavailable: 3, surge: 0, maxNodes: 3 }],
  ] as const)('%s', (_name, setting, poolSize, expected) => {
    expect(poolInFlightLimit(setting, poolSize)).toEqual(expected);
  });
});
