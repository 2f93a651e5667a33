/**
 * YAML (and JSON, which YAML reads) with its positions: a file's syntax errors at their real line:column
 * in one line each, the line:column of any node or field path, whether a broken file simply stops early
 * (cut off) rather than being mistyped, and versions read as they were written.
 *
 * Shared by every reader of a user's file (policy, plan, scenario, the sandbox's fault body) so that they
 * all point at the same place in the same words. Pure: text in, positions out.
 */
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseAllDocuments,
  parseDocument,
  visit,
} from 'yaml';

/** 1-based, as editors count. */
export interface SourcePosition {
  line: number;
  column: number;
}

export interface YamlSyntaxError extends SourcePosition {
  /** One line, without the position or the excerpt the yaml library appends. */
  message: string;
  /**
   * The text ends before the document is closed (its first error is an open quote, bracket or brace at
   * the very end): the file was cut off (an interrupted copy, a full disk) rather than mistyped. The same
   * for every error of a text.
   */
  cutOff: boolean;
}

export interface YamlSource {
  readonly doc: Document.Parsed;
  /** Empty when the text parsed. */
  readonly syntaxErrors: YamlSyntaxError[];
  /** Where the text ends: its last character that is not white space. */
  readonly end: SourcePosition;
  /** Where a node starts; the start of the document for anything without a position. */
  positionOf(node: unknown): SourcePosition;
  /**
   * Where the field at a path (`pools[1].maxUnavailable`) is: a scalar's value, a mapping's or list's key;
   * for a field that is absent, its nearest present parent, so "missing field" points at the right mapping.
   */
  positionAt(path: string): SourcePosition;
}

export function parseYamlSource(text: string, options: { uniqueKeys?: boolean } = {}): YamlSource {
  const lines = new LineCounter();
  // Note: prettyErrors off keeps messages to the problem itself; positions come from the LineCounter.
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: options.uniqueKeys,
  });
  return sourceOf(doc, text, lines);
}

/** Every document of a multi-document text (`---` between them), each with positions in the whole text. */
export function parseYamlDocuments(text: string): YamlSource[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  return 'empty' in docs ? [] : docs.map((doc) => sourceOf(doc, text, lines));
}

function sourceOf(doc: Document.Parsed, text: string, lines: LineCounter): YamlSource {
  const at = (offset: number): SourcePosition => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  const lastChar = text.trimEnd().length;
  const end = at(Math.max(0, lastChar - 1));
  const atEnd = ({ pos: [start, stop] }: { pos: [number, number] }) =>
    lastChar > 0 && Math.max(start, stop) >= lastChar;
  // Note: a mistake earlier in the text can leave structures open too; only when the first error is at
  // the very end does the text look cut off rather than mistyped.
  const cutOff = doc.errors.length > 0 && atEnd(doc.errors[0]!);
  const syntaxErrors = doc.errors.map((err) => ({
    // An error past the last character (the line after it) is shown on that character.
    ...(atEnd(err) ? end : at(err.pos[0])),
    message: oneLine(err.message),
    cutOff,
  }));
  const positionOf = (node: unknown): SourcePosition => at((node as Node | undefined)?.range?.[0] ?? 0);
  return {
    doc,
    syntaxErrors,
    end,
    positionOf,
    positionAt: (path) => positionOf(nodeAt(doc.contents, parseFieldPath(path))),
  };
}

/** `pools[1].maxUnavailable` → ['pools', 1, 'maxUnavailable']. Quoted keys (`labels["a.b/c"]`) are kept whole. */
export function parseFieldPath(path: string): Array<string | number> {
  const keys: Array<string | number> = [];
  const segment = /([^.[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const match of path.matchAll(segment)) {
    if (match[1] !== undefined) keys.push(match[1]);
    else if (match[2] !== undefined) keys.push(Number(match[2]));
    else keys.push(JSON.parse(match[3]!) as string);
  }
  return keys;
}

/**
 * What to point at for the deepest field along `keys` that exists: a scalar value itself; a mapping or a
 * list by its key (`drain:`), since a block one starts on the line after it; a key with no value by the key.
 * A field that is absent is shown by its parent, the mapping that lacks it.
 */
function nodeAt(root: unknown, keys: Array<string | number>): unknown {
  let node = root;
  let shown = root;
  for (const key of keys) {
    if (isMap(node)) {
      const pair = (node.items as Pair<unknown, unknown>[]).find(
        (p) => (isScalar(p.key) ? p.key.value : p.key) === key,
      );
      if (!pair) return shown;
      const value = pair.value;
      const empty = value === null || value === undefined || (isScalar(value) && value.source === '');
      if (empty) return pair.key;
      node = value;
      shown = isMap(value) || isSeq(value) ? pair.key : value;
    } else if (isSeq(node) && typeof key === 'number' && node.items[key] != null) {
      node = node.items[key];
      shown = node;
    } else return shown;
  }
  return shown;
}

/**
 * A version as the user wrote it. YAML reads `1.30` as the number 1.3 and `1.10` as 1.1; a version is
 * text, so a plain scalar that YAML took for a number gives back its source text ("1.30").
 */
export function versionTextOf(node: unknown): unknown {
  if (!isScalar(node)) return node;
  if (typeof node.value === 'number' && typeof node.source === 'string') return node.source;
  return node.value;
}

/**
 * Rewrites, in place, every number that YAML read at one of `keys` (or in a list there) to its source text,
 * so that `toJS()` gives `target: "1.30"` for `target: 1.30`. For documents read into plain data before
 * they are checked (a plan file), where the checker never sees the nodes.
 */
export function keepVersionsAsWritten(doc: Document, keys: ReadonlySet<string>): void {
  const asWritten = (node: unknown) => {
    if (isScalar(node)) node.value = versionTextOf(node);
  };
  visit(doc, {
    Pair(_, pair) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key !== 'string' || !keys.has(key)) return;
      if (isSeq(pair.value)) for (const item of pair.value.items) asWritten(item);
      else asWritten(pair.value);
    },
  });
}

/** The yaml library's messages may carry "at line L, column C:" and an excerpt after it: keep the problem. */
function oneLine(message: string): string {
  return message
    .split('\n')[0]!
    .replace(/ at line \d+, column \d+:?\s*$/, '')
    .trim();
}
