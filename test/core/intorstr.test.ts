import { describe, expect, it } from 'vitest';
import {
  IntOrStringError,
  isValidIntOrPercent,
  isZeroIntOrPercent,
  nodesAtOnce,
  scaledValue,
} from '../../src/core/intorstr.ts';

// As intstr.GetScaledValueFromIntOrPercent and ValidatePositiveIntOrPercent (PDB minAvailable/maxUnavailable,
// Deployment and DaemonSet maxSurge/maxUnavailable) read them.
describe('scaledValue', () => {
  it.each([
    [2, 10, true, 2],
    [0, 10, false, 0],
    ['25%', 10, true, 3],
    ['25%', 10, false, 2],
    ['0%', 10, true, 0],
    ['100%', 3, false, 3],
    ['50%', 3, true, 2],
    ['20%', 10, true, 2],
  ] as const)('%j of %i (round up %s) = %i', (v, total, up, expected) => {
    expect(scaledValue(v, total, up)).toBe(expected);
  });

  it.each([['3'], ['25'], ['abc'], ['25 %'], ['%'], ['2.5%'], [1.5]])('refuses %j', (v) => {
    expect(() => scaledValue(v, 10, true)).toThrow(IntOrStringError);
  });

  it('tells a user who quoted a number what to write instead', () => {
    expect(() => scaledValue('3', 10, true)).toThrow('write 3 (a number, no quotes) or "3%"');
  });
});

describe('isValidIntOrPercent', () => {
  it.each([
    [0, true],
    [3, true],
    ['25%', true],
    ['150%', true],
    [-1, false],
    [1.5, false],
    ['3', false],
    ['-5%', false],
    ['', false],
    [null, false],
    [undefined, false],
  ])('%j → %s', (v, expected) => {
    expect(isValidIntOrPercent(v)).toBe(expected);
  });
});

describe('isZeroIntOrPercent', () => {
  it.each([
    [0, true],
    ['0%', true],
    ['0', false],
    [1, false],
    ['10%', false],
  ])('%j → %s', (v, expected) => {
    expect(isZeroIntOrPercent(v)).toBe(expected);
  });
});

describe('nodesAtOnce', () => {
  it('never lets a pool move fewer than one node at a time, nor more than it has', () => {
    expect(nodesAtOnce('10%', 5)).toBe(1);
    expect(nodesAtOnce('50%', 10)).toBe(5);
    expect(nodesAtOnce(20, 4)).toBe(4);
    expect(nodesAtOnce(undefined, 4)).toBe(1);
  });
});
