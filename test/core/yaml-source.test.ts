import { describe, expect, it } from 'vitest';
import { isMap } from 'yaml';
import {
  keepVersionsAsWritten,
  parseYamlDocuments,
  parseYamlSource,
  versionTextOf,
} from '../../src/core/yaml-source.ts';

describe('YAML with its positions', () => {
  it.each<[string, string, { line: number; column: number; message: string; cutOff: boolean }]>([
    [
      'an unclosed quote at the end: cut off, shown on the last character',
      'a: b\nc: "x\n',
      { line: 2, column: 5, message: 'Missing closing "quote', cutOff: true },
    ],
    [
      'JSON that stops inside a list',
      '{"a": [1, 2',
      {
        line: 1,
        column: 11,
        message: 'Flow sequence in block collection must be sufficiently indented and end with a ]',
        cutOff: true,
      },
    ],
    [
      'a mistake in a long line: one line, no dangling "column 107:"',
      `x: ${'a'.repeat(100)} : b: c\n`,
      { line: 1, column: 4, message: 'Nested mappings are not allowed in compact mappings', cutOff: false },
    ],
    [
      'a badly indented list item on line 3',
      'a:\n  - b\n - c\n',
      {
        line: 3,
        column: 1,
        message: 'A block sequence may not be used as an implicit map key',
        cutOff: false,
      },
    ],
    [
      'a key given twice',
      'drain:\n  timeout: 5m\n  timeout: 6m\n',
      { line: 3, column: 3, message: 'Map keys must be unique', cutOff: false },
    ],
  ])('reports %s at its line:column', (_, text, expected) => {
    expect(parseYamlSource(text).syntaxErrors[0]).toEqual(expected);
  });

  it('finds no error in valid YAML, and says where the text ends', () => {
    const source = parseYamlSource('a: 1\nb:\n  - two   \n\n');
    expect(source.syntaxErrors).toEqual([]);
    expect(source.end).toEqual({ line: 3, column: 7 });
  });

  const DOC = [
    'drain:',
    '  timeout: forever',
    'pools:',
    '  - name: a',
    '  - {maxUnavailable: lots}',
    'labels:',
    '  "a.b/c": x',
    'empty:',
    '',
  ].join('\n');
  it.each<[string, { line: number; column: number }]>([
    ['drain.timeout', { line: 2, column: 12 }],
    ['pools[1].maxUnavailable', { line: 5, column: 22 }],
    // A mapping or a list by its key: a block one starts on the line after it.
    ['drain', { line: 1, column: 1 }],
    ['pools[1]', { line: 5, column: 5 }],
    // Absent fields point at the mapping that lacks them.
    ['pools[1].name', { line: 5, column: 5 }],
    ['drain.timout', { line: 1, column: 1 }],
    ['labels["a.b/c"]', { line: 7, column: 12 }],
    // A key without a value points at the key.
    ['empty', { line: 8, column: 1 }],
    ['nothing.here', { line: 1, column: 1 }],
  ])('places the field %s', (path, position) => {
    expect(parseYamlSource(DOC).positionAt(path)).toEqual(position);
  });

  it('positions each document of a stream in the whole text', () => {
    const docs = parseYamlDocuments('a: 1\n---\nb: [2\n');
    expect(docs).toHaveLength(2);
    expect(docs[0]!.syntaxErrors).toEqual([]);
    expect(docs[1]!.syntaxErrors[0]).toMatchObject({ line: 3, column: 5, cutOff: true });
  });

  it.each<[string, unknown]>([
    ['target: 1.30', '1.30'],
    ['target: 1.10', '1.10'],
    ['target: 1.3', '1.3'],
    ['target: "1.30"', '1.30'],
    ['target: v1.31.2', 'v1.31.2'],
    ['target: 2', '2'],
    ['target: null', null],
  ])('reads the version in %s as written', (text, expected) => {
    const { doc } = parseYamlSource(text);
    const root = doc.contents;
    expect(isMap(root) && versionTextOf(root.items[0]!.value)).toEqual(expected);
    keepVersionsAsWritten(doc, new Set(['target']));
    expect(doc.toJS()).toEqual({ target: expected });
  });

  it('keeps versions as written only at the keys named, in lists too', () => {
    const { doc } = parseYamlSource(
      'hops: [1.30, 1.31]\nsteps:\n  - {version: 1.20, soak: 1.50}\nratio: 1.50\n',
    );
    keepVersionsAsWritten(doc, new Set(['hops', 'version']));
    expect(doc.toJS()).toEqual({
      hops: ['1.30', '1.31'],
      steps: [{ version: '1.20', soak: 1.5 }],
      ratio: 1.5,
    });
  });
});
