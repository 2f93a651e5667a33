import { describe, expect, it } from 'vitest';
import { DurationParseError, formatDuration, parseDuration } from '../../src/core/duration.ts';
import {
  cpuMillis,
  isQuantity,
  parseBytes,
  parseCpuMillis,
  parseQuantity,
  QuantityParseError,
} from '../../src/core/quantity.ts';

describe('quantities', () => {
  it.each([
    ['100m', 0.1],
    ['2', 2],
    ['1.5', 1.5],
    ['512Mi', 512 * 2 ** 20],
    ['1G', 1e9],
    ['1e3', 1000],
    ['250u', 250e-6],
    ['5n', 5e-9],
    ['.5', 0.5],
    ['1.', 1],
    ['+2Ki', 2048],
  ])('%s = %d', (q, value) => {
    expect(parseQuantity(q)).toBeCloseTo(value);
  });
  it('rounds CPU up to whole millicores', () => {
    expect(cpuMillis('0.0001')).toBe(1);
    expect(parseCpuMillis('250m')).toBe(250);
    expect(parseBytes('1Ki')).toBe(1024);
  });
  it('rejects garbage', () => {
    expect(() => parseQuantity('12 apples')).toThrow(QuantityParseError);
  });
  it.each([
    ['500m', true],
    ['3000000000n', true],
    ['16Gi', true],
    ['1e3', true],
    ['-1', true],
    ['', false],
    ['lots', false],
    ['1 Gi', false],
    ['1KI', false],
    ['1.2.3', false],
  ])('isQuantity(%j) = %s', (q, expected) => {
    expect(isQuantity(q)).toBe(expected);
  });
});

describe('durations', () => {
  it.each([
    ['15m', 900_000],
    ['1h30m', 5_400_000],
    ['90', 90_000],
    ['500ms', 500],
    ['2d', 172_800_000],
  ])('%s = %i ms', (d, ms) => {
    expect(parseDuration(d)).toBe(ms);
  });
  it.each(['', '5 minutes', 'm5', '1h 30m'])('rejects %j', (d) => {
    expect(() => parseDuration(d)).toThrow(DurationParseError);
  });
  it.each([
    [5_400_000, '1h30m'],
    [90_000, '1m30s'],
    [0, '0s'],
  ])('formats %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
