import { parseQuantity } from '../../core/index.ts';
import type { FieldError } from '../status.ts';
import type { Json } from '../store/types.ts';
import {
  child,
  duplicate,
  forbiddenField,
  index,
  invalidValue,
  notSupported,
  required,
} from './field-errors.ts';
import {
  DNS1123_LABEL,
  DNS1123_LABEL_MESSAGE,
  labelValueProblem,
  validateLabelName,
  validateLabelSelector,
  validateLabels,
} from './meta-validation.ts';

/**
 * Pod spec rules of k/k pkg/apis/core/validation (ValidatePodSpec and its helpers) for the fields the
 * scheduler, kubelets and taint manager act on. The spec's JSON types are checked before (resource-shapes.ts).
 */

export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;
const NODE_SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'];

export function validatePodSpec(spec: Json, path: string, errors: FieldError[]): void {
  validateContainers(spec, path, errors);
  validateLabels(spec?.nodeSelector, child(path, 'nodeSelector'), errors);
  validateTolerations(spec?.tolerations ?? [], child(path, 'tolerations'), errors);
  validateAffinity(spec?.affinity, child(path, 'affinity'), errors);
  if (spec?.overhead) validateResourceNames(spec.overhead, child(path, 'overhead'), errors);
}

function validateContainers(spec: Json, path: string, errors: FieldError[]): void {
  const containers: Json[] | undefined = spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    errors.push(required(child(path, 'containers')));
    return;
  }
  const names = new Set<string>();
  for (const field of ['containers', 'initContainers'] as const) {
    ((spec[field] ?? []) as Json[]).forEach((c, i) => {
      const at = index(child(path, field), i);
      if (!c.name) errors.push(required(child(at, 'name')));
      else if (!DNS1123_LABEL.test(c.name))
        errors.push(invalidValue(child(at, 'name'), c.name, DNS1123_LABEL_MESSAGE));
      else if (names.has(c.name)) errors.push(duplicate(child(at, 'name'), c.name));
      else names.add(c.name);
      if (!c.image) errors.push(required(child(at, 'image')));
      validateResources(c.resources, child(at, 'resources'), errors);
      ((c.ports ?? []) as Json[]).forEach((p, j) => {
        const port = p.containerPort;
        if (port === undefined || port === null)
          errors.push(required(child(index(child(at, 'ports'), j), 'containerPort')));
        else if (port < 1 || port > 65535)
          errors.push(
            invalidValue(
              child(index(child(at, 'ports'), j), 'containerPort'),
              port,
              'must be between 1 and 65535, inclusive',
            ),
          );
      });
    });
  }
}

/** Requests may not exceed limits (ValidateResourceRequirements); each value is a valid quantity by now. */
function validateResources(resources: Json, path: string, errors: FieldError[]): void {
  const requests: Record<string, string | number> = resources?.requests ?? {};
  const limits: Record<string, string | number> = resources?.limits ?? {};
  validateResourceNames(requests, child(path, 'requests'), errors);
  validateResourceNames(limits, child(path, 'limits'), errors);
  for (const [name, request] of Object.entries(requests)) {
    const limit = limits[name];
    if (limit === undefined || limit === null) continue;
    if (parseQuantity(request) > parseQuantity(limit))
      errors.push(
        invalidValue(
          index(child(path, 'requests'), name),
          String(request),
          `must be less than or equal to ${name} limit of ${limit}`,
        ),
      );
  }
}

function validateResourceNames(list: Record<string, unknown>, path: string, errors: FieldError[]): void {
  for (const name of Object.keys(list)) validateLabelName(name, index(path, name), errors);
}

/** validateTolerations: keys, operators, values and effects as the taint manager compares them. */
export function validateTolerations(tolerations: Json[], path: string, errors: FieldError[]): void {
  tolerations.forEach((t, i) => {
    const at = index(path, i);
    const key: string = t.key ?? '';
    const operator: string = t.operator ?? '';
    const value: string = t.value ?? '';
    const effect: string = t.effect ?? '';
    if (key) validateLabelName(key, child(at, 'key'), errors);
    if (!key && operator !== 'Exists')
      errors.push(
        invalidValue(
          child(at, 'operator'),
          operator,
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null && effect !== 'NoExecute')
      errors.push(
        invalidValue(
          child(at, 'effect'),
          effect,
          "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ),
      );
    if (operator === 'Equal' || operator === '') {
      const problem = labelValueProblem(value);
      if (problem) errors.push(invalidValue(child(at, 'operator'), value, problem));
    } else if (operator === 'Exists') {
      if (value)
        errors.push(
          invalidValue(child(at, 'operator'), t, "value must be empty when `operator` is 'Exists'"),
        );
    } else {
      errors.push(notSupported(child(at, 'operator'), operator, ['Equal', 'Exists']));
    }
    if (effect && !(TAINT_EFFECTS as readonly string[]).includes(effect))
      errors.push(notSupported(child(at, 'effect'), effect, TAINT_EFFECTS));
  });
}

function validateAffinity(affinity: Json, path: string, errors: FieldError[]): void {
  const nodeAffinity = affinity?.nodeAffinity;
  const naPath = child(path, 'nodeAffinity');
  const requiredTerms: Json[] =
    nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const requiredPath = child(
    child(naPath, 'requiredDuringSchedulingIgnoredDuringExecution'),
    'nodeSelectorTerms',
  );
  requiredTerms.forEach((term, i) => {
    validateNodeSelectorTerm(term, index(requiredPath, i), errors);
  });
  const preferred: Json[] = nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  preferred.forEach((p, i) => {
    const at = index(child(naPath, 'preferredDuringSchedulingIgnoredDuringExecution'), i);
    if (p.weight !== undefined && (p.weight < 1 || p.weight > 100))
      errors.push(invalidValue(child(at, 'weight'), p.weight, 'must be in the range 1-100'));
    validateNodeSelectorTerm(p.preference ?? {}, child(at, 'preference'), errors);
  });
  for (const kind of ['podAffinity', 'podAntiAffinity'] as const) {
    const terms: Json[] = affinity?.[kind]?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    terms.forEach((term, i) => {
      const at = index(child(child(path, kind), 'requiredDuringSchedulingIgnoredDuringExecution'), i);
      validateLabelSelector(term.labelSelector, child(at, 'labelSelector'), errors);
    });
  }
}

function validateNodeSelectorTerm(term: Json, path: string, errors: FieldError[]): void {
  for (const field of ['matchExpressions', 'matchFields'] as const) {
    ((term[field] ?? []) as Json[]).forEach((req, i) => {
      const at = index(child(path, field), i);
      const values: string[] = req.values ?? [];
      const operator: string = req.operator ?? '';
      if (operator === 'In' || operator === 'NotIn') {
        if (values.length === 0)
          errors.push(required(child(at, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
      } else if (operator === 'Exists' || operator === 'DoesNotExist') {
        if (values.length > 0)
          errors.push(
            forbiddenField(
              child(at, 'values'),
              "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
          );
      } else if (operator === 'Gt' || operator === 'Lt') {
        if (values.length !== 1)
          errors.push(
            required(child(at, 'values'), "must be specified single value when `operator` is 'Lt' or 'Gt'"),
          );
      } else {
        errors.push(
          invalidValue(
            child(at, 'operator'),
            operator,
            `not a valid selector operator (supported: ${NODE_SELECTOR_OPERATORS.join(', ')})`,
          ),
        );
      }
      if (field === 'matchExpressions') validateLabelName(req.key ?? '', child(at, 'key'), errors);
    });
  }
}
