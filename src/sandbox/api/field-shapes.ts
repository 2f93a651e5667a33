import { parseQuantity } from '../../core/index.ts';
import type { FieldError } from '../status.ts';
import { child, index, invalidValue } from './field-errors.ts';

/**
 * The JSON shape of an API type, as far as its Go struct would decode it: which fields are strings, integers,
 * lists, maps of strings, quantities… The real server refuses a body that does not decode into its type; the
 * sandbox stores JSON as it comes, so this is what keeps `spec.taints: "x"` out of the store, where the
 * simulation would trip over it.
 * Note: fields a shape does not name are not checked (the sandbox keeps them, as an older server would).
 * `null` is an absent field, as Go's decoder leaves it at its zero value; inside a list or a map it is refused.
 */
export type Shape =
  | { kind: 'string' | 'boolean' | 'integer' | 'number' | 'intOrString' | 'time' | 'base64' | 'any' }
  | { kind: 'quantity'; nonNegative: boolean }
  | { kind: 'object'; fields: Readonly<Record<string, Shape>> }
  | { kind: 'list'; items: Shape }
  | { kind: 'map'; values: Shape };

export const str: Shape = { kind: 'string' };
export const bool: Shape = { kind: 'boolean' };
export const int: Shape = { kind: 'integer' };
export const num: Shape = { kind: 'number' };
export const intOrString: Shape = { kind: 'intOrString' };
export const time: Shape = { kind: 'time' };
export const base64: Shape = { kind: 'base64' };
export const anything: Shape = { kind: 'any' };
export const quantity: Shape = { kind: 'quantity', nonNegative: false };
export const obj = (fields: Record<string, Shape>): Shape => ({ kind: 'object', fields });
export const list = (items: Shape): Shape => ({ kind: 'list', items });
export const map = (values: Shape): Shape => ({ kind: 'map', values });
export const strings = list(str);
export const stringMap = map(str);
/** A ResourceList (requests, limits, capacity, overhead): quantities that may not be negative. */
export const resourceList = map({ kind: 'quantity', nonNegative: true });

/** As apimachinery's Quantity decoder words its refusal. */
export const QUANTITY_MESSAGE =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/** metav1.Time: RFC 3339, as Go's time.RFC3339 layout parses it (fractional seconds allowed). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
/** Go's base64.StdEncoding, which ignores line breaks. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Checking stops after this many errors: a list of a million bad items gets a readable answer. */
const MAX_ERRORS = 50;

/** Appends to `errors` one error per field of `value` (at `path`) that does not have the shape. */
export function checkShape(value: unknown, shape: Shape, path: string, errors: FieldError[]): void {
  if (value === null || value === undefined) return;
  checkPresent(value, shape, path, errors);
}

function checkPresent(value: unknown, shape: Shape, path: string, errors: FieldError[]): void {
  if (errors.length >= MAX_ERRORS) return;
  const problem = mismatch(value, shape);
  if (problem) {
    errors.push(invalidValue(path, value, problem));
    return;
  }
  switch (shape.kind) {
    case 'object': {
      const record = value as Record<string, unknown>;
      for (const [field, fieldShape] of Object.entries(shape.fields))
        checkShape(record[field], fieldShape, child(path, field), errors);
      return;
    }
    case 'list':
      (value as unknown[]).forEach((item, i) => {
        checkPresent(item, shape.items, index(path, i), errors);
      });
      return;
    case 'map':
      for (const [key, item] of Object.entries(value as Record<string, unknown>))
        checkPresent(item, shape.values, index(path, key), errors);
      return;
  }
}

/** What `value` should have been, or undefined when it has the shape (its own level only). */
function mismatch(value: unknown, shape: Shape): string | undefined {
  switch (shape.kind) {
    case 'any':
      return undefined;
    case 'string':
      return typeof value === 'string' ? undefined : 'must be a string';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'integer':
      return Number.isSafeInteger(value) ? undefined : 'must be an integer';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a number';
    case 'intOrString':
      return typeof value === 'string' || Number.isSafeInteger(value)
        ? undefined
        : 'must be an integer or a string';
    case 'time':
      return typeof value === 'string' && RFC3339.test(value) && !Number.isNaN(Date.parse(value))
        ? undefined
        : 'must be a time in RFC 3339 format, e.g. "2026-01-01T00:00:00Z"';
    case 'base64':
      return typeof value === 'string' && BASE64.test(value.replace(/[\r\n]/g, ''))
        ? undefined
        : 'must be a base64-encoded string';
    case 'quantity':
      return quantityMismatch(value, shape.nonNegative);
    case 'object':
      return isRecord(value) ? undefined : 'must be an object';
    case 'list':
      return Array.isArray(value) ? undefined : 'must be an array';
    case 'map':
      return isRecord(value) ? undefined : `must be a map of string keys to ${nounOf(shape.values)}`;
  }
}

function quantityMismatch(value: unknown, nonNegative: boolean): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return QUANTITY_MESSAGE;
  let amount: number;
  try {
    amount = parseQuantity(value);
  } catch {
    return QUANTITY_MESSAGE;
  }
  if (!Number.isFinite(amount)) return QUANTITY_MESSAGE;
  return nonNegative && amount < 0 ? 'must be greater than or equal to 0' : undefined;
}

function nounOf(shape: Shape): string {
  switch (shape.kind) {
    case 'string':
      return 'string values';
    case 'quantity':
      return 'quantities';
    case 'base64':
      return 'base64-encoded strings';
    case 'time':
      return 'times';
    default:
      return 'objects';
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
