import { describe, expect, it } from 'vitest';
import { NoDataError } from '../../src/gates/index.ts';
import { numberFromText } from '../../src/gates/measurement.ts';

describe('reading a number from an answer', () => {
  it.each([
    ['a bare number', '42\n', undefined, 42],
    ['the last line', 'starting\nchecked 3 nodes\n0.97\n', undefined, 0.97],
    ['true', 'true', undefined, 1],
    ['a JSON number', '{"status": {"ratio": 0.5}}', 'status.ratio', 0.5],
    ['a numeric JSON string', '{"count": "12"}', 'count', 12],
    ['a list element', '{"nodes": [{"up": 0}, {"up": 1}]}', 'nodes[1].up', 1],
    ['a JSON boolean', '{"green": false}', 'green', 0],
    ['a top-level list', '[5, 6]', '[1]', 6],
  ])('reads %s', (_name, text, field, value) => {
    expect(numberFromText(text, field, 'the answer')).toBe(value);
  });

  it.each([
    ['nothing at all', '', undefined, NoDataError, 'the answer is empty'],
    ['a missing field', '{"a": {}}', 'a.b', NoDataError, 'the answer has no field a.b'],
    ['a path through a number', '{"a": 1}', 'a.b', NoDataError, 'a is not an object'],
    ['an index into an object', '{"a": {}}', 'a[0]', NoDataError, 'a is not a list'],
    ['NaN', 'NaN', undefined, NoDataError, 'is NaN'],
    ['a null field', '{"a": null}', 'a', NoDataError, "the answer's field a is empty"],
    ['a word', 'green', undefined, Error, 'is "green", not a number'],
    ['an object where a number goes', '{"a": {"b": 1}}', 'a', Error, 'is {"b":1}, not a number'],
    ['text that is not JSON', 'ok', 'status', Error, 'is not JSON, so it has no field status'],
  ])('refuses %s', (_name, text, field, kind, message) => {
    let thrown: unknown;
    try {
      numberFromText(text, field, 'the answer');
    } catch (err) {
      thrown = err;
    }
    // No data is inconclusive; anything else that is not a number is a failed measurement.
    expect(thrown instanceof NoDataError).toBe(kind === NoDataError);
    expect((thrown as Error).message).toContain(message);
  });
});
