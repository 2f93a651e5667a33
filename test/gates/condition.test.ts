import { describe, expect, it } from 'vitest';
import { ConditionSyntaxError, evaluateCondition, parseCondition, verdictOf } from '../../src/gates/index.ts';

describe('gate conditions', () => {
  it.each([
    ['result < 1.2 * baseline', { result: 1.1, baseline: 1 }, true],
    ['result < 1.2 * baseline', { result: 1.2, baseline: 1 }, false],
    ['result >= 0.999', { result: 0.999 }, true],
    ['result >= 99.9%', { result: 0.9985 }, false],
    ['result == 0', { result: 0 }, true],
    ['result != 0', { result: 0 }, false],
    ['result > 0.1 and result < 0.2', { result: 0.15 }, true],
    ['result > 0.1 && result < 0.2', { result: 0.25 }, false],
    ['result == 0 or result > 5', { result: 6 }, true],
    ['result < 1 or result > 5 and result < 6', { result: 7 }, false], // and binds tighter than or
    ['not result > 1', { result: 0.5 }, true],
    ['!(result > 1)', { result: 2 }, false],
    ['result <= max(2 * baseline, 0.001)', { result: 0.0008, baseline: 0 }, true],
    ['result <= max(2 * baseline, 0.001)', { result: 0.003, baseline: 0.001 }, false],
    ['abs(result - baseline) < 0.5', { result: 9.7, baseline: 10 }, true],
    ['result < min(1, 2, 0.5)', { result: 0.4 }, true],
    ['-result < -1', { result: 2 }, true],
    ['result < 1e-3', { result: 0.0005 }, true],
    ['result - baseline < 0.01', { result: 0.05, baseline: 0.045 }, true],
    ['(result + 1) / 2 == 1', { result: 1 }, true],
  ])('%s with %o is %s', (text, inputs, expected) => {
    expect(evaluateCondition(parseCondition(text), inputs)).toBe(expected);
  });

  it.each([
    ['', 'empty condition at column 1'],
    ['result', 'needs a comparison'],
    ['result <', 'expected a number, result or baseline, found the end at column 9'],
    ['result < 1 <', 'comparisons do not chain'],
    ['result < 1 and 2', 'needs a comparison'],
    ['(result < 1) + 1', 'needs a number, not a comparison'],
    ['exit(1) == 0', 'unknown name "exit" (known: result, baseline, min, max, abs) at column 1'],
    ['process.exit(1) == 0', 'unexpected "." at column 8'],
    ['result < baseline; rm -rf /', 'unexpected ";" at column 18'],
    ['max(result) < 1', 'max() takes at least 2 argument(s)'],
    ['result < (1', 'expected ")"'],
    ['result = 1', 'unexpected "="'],
  ])('refuses %j: %s', (text, message) => {
    expect(() => parseCondition(text)).toThrow(ConditionSyntaxError);
    expect(() => parseCondition(text)).toThrow(message);
  });

  it('knows whether it reads the baseline', () => {
    expect(parseCondition('result < 1.2 * baseline').usesBaseline).toBe(true);
    expect(parseCondition('result < 0.2').usesBaseline).toBe(false);
  });

  it('refuses to judge a condition on a baseline that was never recorded', () => {
    expect(() => evaluateCondition(parseCondition('result < baseline'), { result: 1 })).toThrow(
      'reads baseline but none was recorded',
    );
  });
});

describe('a measurement verdict (Argo Rollouts rules)', () => {
  const c = (text?: string) => (text === undefined ? undefined : parseCondition(text));
  it.each([
    ['success only, met', 'result < 1', undefined, 0.5, 'success'],
    ['success only, not met', 'result < 1', undefined, 2, 'failure'],
    ['failure only, met', undefined, 'result > 1', 2, 'failure'],
    ['failure only, not met', undefined, 'result > 1', 0.5, 'success'],
    ['both, success', 'result < 1', 'result > 2', 0.5, 'success'],
    ['both, failure', 'result < 1', 'result > 2', 3, 'failure'],
    ['both, between: inconclusive', 'result < 1', 'result > 2', 1.5, 'inconclusive'],
    ['both met: failure wins', 'result < 10', 'result > 2', 3, 'failure'],
  ] as const)('%s', (_name, success, failure, result, verdict) => {
    expect(verdictOf({ success: c(success), failure: c(failure) }, result)).toBe(verdict);
  });
});
