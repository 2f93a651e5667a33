import { describe, expect, it } from 'vitest';
import { copyJson, sameJson } from '../../src/sandbox/store/json-value.ts';

describe('copyJson', () => {
  it('copies every level, so changing the copy leaves the original alone', () => {
    const original = { spec: { containers: [{ name: 'web', ports: [{ containerPort: 80 }] }] }, n: null };
    const copy = copyJson(original);
    expect(copy).toEqual(original);
    copy.spec.containers[0]!.ports[0]!.containerPort = 81;
    copy.spec.containers.push({ name: 'sidecar', ports: [] });
    expect(original.spec.containers).toEqual([{ name: 'web', ports: [{ containerPort: 80 }] }]);
  });

  it('copies what is not plain JSON as structuredClone does', () => {
    const when = new Date(0);
    const copy = copyJson({ when });
    expect(copy.when).toBeInstanceOf(Date);
    expect(copy.when).not.toBe(when);
    expect(copy.when.getTime()).toBe(0);
  });
});

describe('sameJson', () => {
  it.each([
    ['the same scalars', 1, 1, true],
    ['different scalars', 'a', 'b', false],
    ['null and an object', null, {}, false],
    ['keys in another order', { a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }, true],
    ['an undefined key and a missing one', { a: 1, b: undefined }, { a: 1 }, true],
    ['an extra key', { a: 1 }, { a: 1, b: 2 }, false],
    ['arrays of different lengths', [1, 2], [1, 2, 3], false],
    ['an array and an object', [1], { 0: 1 }, false],
    ['a nested difference', { a: { b: [{ c: 1 }] } }, { a: { b: [{ c: 2 }] } }, false],
  ])('%s', (_name, a, b, same) => {
    expect(sameJson(a, b)).toBe(same);
    expect(sameJson(b, a)).toBe(same);
  });
});
