import type { FieldError } from '../status.ts';
import { child, forbiddenField, index, invalidValue, required } from './field-errors.ts';

/**
 * Label, annotation and selector rules (k8s.io/apimachinery validation: IsQualifiedName, IsValidLabelValue,
 * ValidateLabels, ValidateAnnotations, ValidateLabelSelector), with their messages. Every function expects
 * values already checked to be of the right JSON type (resource-shapes.ts) and appends to `errors`.
 */

const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** RFC 1123 names (IsDNS1123Label, IsDNS1123Subdomain): object and container names, label-key prefixes. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const NAME_PART_MESSAGE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
export const DNS1123_LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
export const DNS1123_SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const PREFIX_MESSAGE = `prefix part ${DNS1123_SUBDOMAIN_MESSAGE}`;
const LABEL_VALUE_MESSAGE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
/** The real server's limit on all of an object's annotations together. */
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/** What is wrong with a qualified name (`example.com/name` or `name`), or undefined when nothing is. */
export function qualifiedNameProblem(value: string): string | undefined {
  const slash = value.split('/');
  if (slash.length > 2)
    return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
  const name = slash.length === 2 ? slash[1]! : slash[0]!;
  if (slash.length === 2) {
    const prefix = slash[0]!;
    if (prefix.length === 0) return 'prefix part must be non-empty';
    if (prefix.length > 253) return 'prefix part must be no more than 253 characters';
    if (!DNS1123_SUBDOMAIN.test(prefix)) return PREFIX_MESSAGE;
  }
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME_PART.test(name)) return NAME_PART_MESSAGE;
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  return LABEL_VALUE.test(value) ? undefined : LABEL_VALUE_MESSAGE;
}

/** A label key or taint key: a qualified name, reported against `path`. */
export function validateLabelName(key: string, path: string, errors: FieldError[]): void {
  const problem = qualifiedNameProblem(key);
  if (problem) errors.push(invalidValue(path, key, problem));
}

export function validateLabels(
  labels: Record<string, string> | undefined,
  path: string,
  errors: FieldError[],
) {
  for (const [key, value] of Object.entries(labels ?? {})) {
    validateLabelName(key, path, errors);
    const problem = labelValueProblem(value);
    if (problem) errors.push(invalidValue(path, value, problem));
  }
}

export function validateAnnotations(
  annotations: Record<string, string> | undefined,
  path: string,
  errors: FieldError[],
): void {
  let bytes = 0;
  for (const [key, value] of Object.entries(annotations ?? {})) {
    const problem = qualifiedNameProblem(key.toLowerCase());
    if (problem) errors.push(invalidValue(path, key, problem));
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (bytes > MAX_ANNOTATIONS_BYTES)
    errors.push({
      reason: 'FieldValueTooLong',
      field: path,
      message: `Too long: may not be more than ${MAX_ANNOTATIONS_BYTES} bytes`,
    });
}

interface SelectorRequirement {
  key?: string;
  operator?: string;
  values?: string[];
}

/** An object-form label selector (PDBs, workloads, affinity terms). */
export function validateLabelSelector(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: SelectorRequirement[] } | undefined,
  path: string,
  errors: FieldError[],
): void {
  if (!selector) return;
  validateLabels(selector.matchLabels, child(path, 'matchLabels'), errors);
  (selector.matchExpressions ?? []).forEach((req, i) => {
    const at = index(child(path, 'matchExpressions'), i);
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0)
          errors.push(required(child(at, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0)
          errors.push(
            forbiddenField(
              child(at, 'values'),
              "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
          );
        break;
      default:
        errors.push(invalidValue(child(at, 'operator'), req.operator ?? '', 'not a valid selector operator'));
    }
    validateLabelName(req.key ?? '', child(at, 'key'), errors);
    values.forEach((v, j) => {
      const problem = labelValueProblem(v);
      if (problem) errors.push(invalidValue(index(child(at, 'values'), j), v, problem));
    });
  });
}
