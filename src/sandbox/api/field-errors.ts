import type { FieldError } from '../status.ts';

/**
 * Field errors as k8s.io/apimachinery/pkg/util/validation/field builds them: a field path, a type
 * (serialized as the cause's `reason`) and a message such as `Invalid value: "x": must be an array`.
 */

/** Longer bad values are cut short in messages: a 3 MiB body must not come back as a 3 MiB error. */
const MAX_VALUE_CHARS = 200;

/** A bad value as messages show it: JSON, shortened when long. */
export function formatValue(value: unknown): string {
  const text = value === undefined ? 'null' : JSON.stringify(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}...` : text;
}

export function required(field: string, detail?: string): FieldError {
  return {
    reason: 'FieldValueRequired',
    field,
    message: detail ? `Required value: ${detail}` : 'Required value',
  };
}

export function invalidValue(field: string, value: unknown, detail: string): FieldError {
  return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${formatValue(value)}: ${detail}` };
}

export function notSupported(field: string, value: unknown, supported: readonly string[]): FieldError {
  return {
    reason: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${formatValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  };
}

export function duplicate(field: string, value: unknown): FieldError {
  return { reason: 'FieldValueDuplicate', field, message: `Duplicate value: ${formatValue(value)}` };
}

export function forbiddenField(field: string, detail: string): FieldError {
  return { reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` };
}

/** `spec.containers` + 0 → `spec.containers[0]`; `data` + "a.b" → `data[a.b]`; `spec` + "taints" → `spec.taints`. */
export function child(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

export function index(path: string, i: number | string): string {
  return `${path}[${i}]`;
}
