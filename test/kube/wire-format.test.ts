import { describe, expect, it } from 'vitest';
import { withoutNulls } from '../../src/kube/wire-format.ts';

describe('withoutNulls', () => {
  it.each([
    ['a null field', { a: 1, b: null }, { a: 1 }],
    ['nested, in lists too', { s: { c: [{ t: null, u: 'x' }] } }, { s: { c: [{ u: 'x' }] } }],
    ['a list item that is null', { l: [1, null] }, { l: [1, undefined] }],
    ['falsy values that are not null', { z: 0, e: '', f: false }, { z: 0, e: '', f: false }],
    ['nothing to drop', { a: { b: [1, 'two'] } }, { a: { b: [1, 'two'] } }],
  ])('%s', (_, input, expected) => {
    const result = withoutNulls(input);
    expect(result).toStrictEqual(expected);
    // In place: the caller's object is the one returned.
    expect(result).toBe(input);
  });
});
