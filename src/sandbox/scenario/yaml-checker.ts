import { isAlias, isMap, isScalar, isSeq, type Pair } from 'yaml';
import { isQuantity, parseReleaseVersion, versionTextOf, type YamlSource } from '../../core/index.ts';

/** One thing wrong in a document: where (file, path, line:column) and what was expected. */
export interface ScenarioIssue {
  file: string;
  /** The path in the document, e.g. `nodePools[1].capacity.cpu`. */
  path: string;
  line: number;
  column: number;
  message: string;
}

export function formatIssue(issue: ScenarioIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.path || '(document)'}: ${issue.message}`;
}

/** Every problem found in one document: validation reports them all at once, not just the first. */
export class ScenarioError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ScenarioIssue[],
  ) {
    super(`${file}: ${issues.length} problem(s):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
    this.name = 'ScenarioError';
  }
}

/** A field reader: returns the value read, or undefined after recording why it could not. */
export type Read<T> = (c: YamlChecker, node: unknown, path: string) => T | undefined;

/**
 * Walks a parsed YAML document, collecting issues with their position instead of stopping at the first.
 * Readers are small functions (`str`, `int`, `struct`, `listOf`, …) composed per section.
 */
export class YamlChecker {
  readonly issues: ScenarioIssue[] = [];
  constructor(
    readonly file: string,
    private readonly source: Pick<YamlSource, 'positionOf'>,
  ) {}

  /** Records an issue at `node` (or at the start of the document when it has no position). */
  report(node: unknown, path: string, message: string): void {
    const { line, column } = this.source.positionOf(node);
    this.issues.push({ file: this.file, path, line, column, message });
  }

  expected(node: unknown, path: string, what: string): undefined {
    this.report(node, path, `expected ${what}, got ${describe(node)}`);
    return undefined;
  }
}

/** How a node looks to a person reading the error: `"lots"`, `a list`, `a mapping`. */
export function describe(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isAlias(node)) return 'an alias';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    // As written: `1.30`, not the 1.3 YAML reads it as.
    return typeof v === 'number' && node.source !== undefined ? node.source : JSON.stringify(v);
  }
  return String(node);
}

function scalarValue(node: unknown): unknown {
  return isScalar(node) ? node.value : undefined;
}

export function path(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const safe = /^[A-Za-z_][\w-]*$/.test(key) ? key : JSON.stringify(key);
  const joined = /^[A-Za-z_]/.test(safe) ? safe : `[${safe}]`;
  return base ? (joined.startsWith('[') ? `${base}${joined}` : `${base}.${joined}`) : joined;
}

export function str(
  options: {
    pattern?: RegExp;
    expected?: string;
    oneOf?: readonly string[];
    /** A version or other text YAML may read as a number: `1.10` is the text "1.10", not 1.1. */
    asWritten?: boolean;
  } = {},
): Read<string> {
  return (c, node, p) => {
    const v = options.asWritten ? versionTextOf(node) : scalarValue(node);
    if (typeof v !== 'string') {
      if (options.oneOf) return c.expected(node, p, `one of ${options.oneOf.join(', ')}`);
      return c.expected(node, p, options.expected ?? 'a string');
    }
    if (options.oneOf && !options.oneOf.includes(v))
      return c.expected(node, p, `one of ${options.oneOf.join(', ')}`);
    if (options.pattern && !options.pattern.test(v))
      return c.expected(node, p, options.expected ?? `a string matching ${options.pattern}`);
    return v;
  };
}

/** A Kubernetes object name (RFC 1123 label). */
export const dnsLabel = str({
  pattern: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
  expected: 'a lower-case name like "web-1" (letters, digits, "-"; at most 63)',
});

export function int(options: { min?: number; max?: number } = {}): Read<number> {
  return (c, node, p) => {
    const v = scalarValue(node);
    if (typeof v !== 'number' || !Number.isInteger(v)) return c.expected(node, p, 'a whole number');
    if (options.min !== undefined && v < options.min)
      return c.expected(node, p, `a whole number ≥ ${options.min}`);
    if (options.max !== undefined && v > options.max)
      return c.expected(node, p, `a whole number ≤ ${options.max}`);
    return v;
  };
}

export function num(options: { min?: number; max?: number } = {}): Read<number> {
  return (c, node, p) => {
    const v = scalarValue(node);
    const range =
      options.min !== undefined && options.max !== undefined
        ? `a number from ${options.min} to ${options.max}`
        : options.min !== undefined
          ? `a number ≥ ${options.min}`
          : 'a number';
    if (typeof v !== 'number' || !Number.isFinite(v)) return c.expected(node, p, range);
    if (options.min !== undefined && v < options.min) return c.expected(node, p, range);
    if (options.max !== undefined && v > options.max) return c.expected(node, p, range);
    return v;
  };
}

export const bool: Read<boolean> = (c, node, p) => {
  const v = scalarValue(node);
  return typeof v === 'boolean' ? v : c.expected(node, p, 'true or false');
};

/** A quantity, normalised to a string: `4`, `"500m"`, `"16Gi"`. */
export const quantity: Read<string> = (c, node, p) => {
  const v = scalarValue(node);
  const text = typeof v === 'number' && Number.isFinite(v) && v >= 0 ? String(v) : v;
  if (typeof text !== 'string' || !isQuantity(text) || text.startsWith('-'))
    return c.expected(node, p, 'a quantity like "4" or "500m"');
  return text;
};

export const kubeVersion: Read<string> = (c, node, p) => {
  const v = versionTextOf(node);
  if (typeof v !== 'string' || !parseReleaseVersion(v))
    return c.expected(node, p, 'a version like "v1.31.4"');
  return v;
};

/** An int or a percentage string, as PDBs and rollouts take them: `1`, `"50%"`. */
export const intOrPercent: Read<number | string> = (c, node, p) => {
  const v = scalarValue(node);
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^(100|[1-9]?\d)%$/.test(v)) return v;
  return c.expected(node, p, 'a whole number or a percentage like "50%"');
};

export function listOf<T>(item: Read<T>): Read<T[]> {
  return (c, node, p) => {
    if (!isSeq(node)) return c.expected(node, p, 'a list');
    const out: T[] = [];
    node.items.forEach((child, i) => {
      const value = item(c, child, path(p, i));
      if (value !== undefined) out.push(value);
    });
    return out;
  };
}

/** A mapping with free keys (labels, upgrade failures per node). */
export function mapOf<T>(value: Read<T>, key: Read<string> = str()): Read<Record<string, T>> {
  return (c, node, p) => {
    if (!isMap(node)) return c.expected(node, p, 'a mapping');
    const out: Record<string, T> = {};
    for (const pair of node.items as Pair<unknown, unknown>[]) {
      const k = key(c, pair.key, p);
      if (k === undefined) continue;
      const v = value(c, pair.value ?? pair.key, path(p, k));
      if (v !== undefined) out[k] = v;
    }
    return out;
  };
}

/** Label values are strings; a bare number or boolean is an error, as it is in a real manifest. */
export const labelValue: Read<string> = (c, node, p) => {
  const v = scalarValue(node);
  if (typeof v === 'string') return v;
  return c.expected(node, p, 'a string (quote numbers and booleans: "true")');
};

export type Fields = Record<string, Read<unknown>>;

/** What `struct` hands back: the values read plus the nodes, for cross-field checks that point at a field. */
export interface StructResult {
  values: Record<string, unknown>;
  nodes: Record<string, unknown>;
  self: unknown;
}

/**
 * A mapping with known fields. Unknown fields are errors (typo protection); missing required ones too.
 */
export function readStruct(
  c: YamlChecker,
  node: unknown,
  p: string,
  fields: Fields,
  required: readonly string[] = [],
): StructResult | undefined {
  if (!isMap(node)) return c.expected(node, p, 'a mapping');
  const values: Record<string, unknown> = {};
  const nodes: Record<string, unknown> = {};
  for (const pair of node.items as Pair<unknown, unknown>[]) {
    const key = scalarValue(pair.key);
    if (typeof key !== 'string') {
      c.expected(pair.key, p, 'a field name');
      continue;
    }
    const reader = fields[key];
    if (!reader) {
      c.report(
        pair.key,
        path(p, key),
        `unknown field "${key}"; expected one of: ${Object.keys(fields).join(', ')}`,
      );
      continue;
    }
    nodes[key] = pair.value ?? pair.key;
    const value = reader(c, pair.value ?? pair.key, path(p, key));
    if (value !== undefined) values[key] = value;
  }
  for (const key of required) {
    if (!(key in nodes)) c.report(node, path(p, key), `missing required field "${key}"`);
  }
  return { values, nodes, self: node };
}

/** `readStruct` as a reader returning just the values, for nesting. */
export function struct(fields: Fields, required: readonly string[] = []): Read<Record<string, unknown>> {
  return (c, node, p) => readStruct(c, node, p, fields, required)?.values;
}
