import { describe, expect, it } from 'vitest';
import { burnRate, defaultBurnWindows, multiWindowBurn } from '../../src/gates/index.ts';

describe('burn rate', () => {
  it.each([
    // 0.1 % budget: 0.2 % errors burns it twice as fast as allowed.
    [0.002, 0.999, 2],
    [0.001, 0.999, 1],
    [0, 0.999, 0],
    [0.05, 0.99, 5],
    [0.01, 0.9, 0.1],
  ])('error ratio %f against objective %f burns at %f', (ratio, objective, burn) => {
    expect(burnRate(ratio, objective)).toBeCloseTo(burn, 9);
  });

  it('an objective of 100 % leaves no budget: any error burns infinitely fast', () => {
    expect(burnRate(0.0001, 1)).toBe(Number.POSITIVE_INFINITY);
    expect(burnRate(0, 1)).toBe(0);
  });

  it.each([
    [
      '30d',
      [
        { long: '1h', short: '5m' },
        { long: '6h', short: '30m' },
      ],
    ],
    [
      '28d',
      [
        { long: '56m', short: '4m40s' },
        { long: '5h36m', short: '28m' },
      ],
    ],
    // Short SLO windows never go below a minute: Prometheus needs a few scrapes in a range.
    [
      '1d',
      [
        { long: '2m', short: '1m' },
        { long: '12m', short: '1m' },
      ],
    ],
  ])('the workbook pairs scaled to a %s SLO', (window, pairs) => {
    expect(defaultBurnWindows(window)).toEqual(pairs);
  });

  it.each([
    // A pair counts only when both windows burn: the long one alone is an old spike, the short one a blip.
    ['both windows of a pair over 2', [{ long: 0.003, short: 0.004 }], 3],
    ['long over, short recovered', [{ long: 0.01, short: 0.0005 }], 0.5],
    ['short spike, long calm', [{ long: 0.0005, short: 0.05 }], 0.5],
    [
      'the worst pair decides',
      [
        { long: 0.0005, short: 0.05 },
        { long: 0.0025, short: 0.003 },
      ],
      2.5,
    ],
  ])('%s', (_name, pairs, burn) => {
    expect(multiWindowBurn(pairs, 0.999)).toBeCloseTo(burn, 9);
  });
});
