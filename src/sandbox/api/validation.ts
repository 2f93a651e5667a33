import { isPercent, isZeroIntOrPercent, matchesLabelSelector, SelectorParseError } from '../../core/index.ts';
import type { FieldError } from '../status.ts';
import type { Json, KubeObject } from '../store/types.ts';
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
  DNS1123_SUBDOMAIN,
  DNS1123_SUBDOMAIN_MESSAGE,
  labelValueProblem,
  validateAnnotations,
  validateLabelName,
  validateLabelSelector,
  validateLabels,
} from './meta-validation.ts';
import { TAINT_EFFECTS, validatePodSpec } from './pod-validation.ts';
import { checkResourceShape } from './resource-shapes.ts';

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const CONFIG_KEY_MESSAGE =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const PERCENT_MESSAGE =
  "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

/** Resources whose names are DNS-1123 labels rather than subdomains. */
const LABEL_NAMED = new Set(['namespaces', 'services']);

/**
 * Field errors of an object about to be stored; empty when it is valid.
 * Note: as in the real server, an object whose JSON does not fit its type (a decoding error there) is
 * refused on that alone: the rules below read fields as the types they must have.
 */
export function validateObject(resource: string, obj: KubeObject): FieldError[] {
  const shapeErrors = checkResourceShape(resource, obj);
  return shapeErrors.length ? shapeErrors : validateFields(resource, obj);
}

/** The rules of k/k's Validate* functions, for an object whose fields have their types. */
function validateFields(resource: string, obj: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  validateMeta(resource, obj, errors);
  const spec: Json = obj.spec;
  switch (resource) {
    case 'pods':
      validatePodSpec(spec, 'spec', errors);
      break;
    case 'nodes':
      validateTaints(spec?.taints ?? [], 'spec.taints', errors);
      break;
    case 'apps/deployments':
    case 'apps/replicasets':
    case 'apps/statefulsets':
    case 'apps/daemonsets':
      validateWorkload(resource, spec, errors);
      break;
    case 'batch/jobs': {
      validateTemplate(spec?.template, 'spec.template', errors);
      validateNonNegative(spec, 'spec', ['parallelism', 'completions', 'backoffLimit'], errors);
      const policy = spec?.template?.spec?.restartPolicy;
      if (policy !== 'OnFailure' && policy !== 'Never')
        errors.push(
          policy === undefined
            ? required('spec.template.spec.restartPolicy', 'valid values: "OnFailure", "Never"')
            : notSupported('spec.template.spec.restartPolicy', policy, ['OnFailure', 'Never']),
        );
      break;
    }
    case 'policy/poddisruptionbudgets':
      validatePdbSpec(spec, errors);
      break;
    case 'configmaps':
    case 'secrets':
      validateDataKeys(obj, resource === 'secrets' ? 'stringData' : 'binaryData', errors);
      break;
  }
  return errors;
}

function validateMeta(resource: string, obj: KubeObject, errors: FieldError[]): void {
  const name = obj.metadata.name;
  if (!name) errors.push(required('metadata.name', 'name or generateName is required'));
  else if (LABEL_NAMED.has(resource)) {
    if (!DNS1123_LABEL.test(name) || name.length > 63)
      errors.push(invalidValue('metadata.name', name, DNS1123_LABEL_MESSAGE));
  } else if (resource !== 'events' && resource !== 'events.k8s.io/events') {
    if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253)
      errors.push(invalidValue('metadata.name', name, DNS1123_SUBDOMAIN_MESSAGE));
  }
  validateLabels(obj.metadata.labels, 'metadata.labels', errors);
  validateAnnotations(obj.metadata.annotations, 'metadata.annotations', errors);
}

/** A pod template: its labels and annotations as an object's, its spec as a pod's. */
function validateTemplate(template: Json, path: string, errors: FieldError[]): void {
  validateLabels(template?.metadata?.labels, `${path}.metadata.labels`, errors);
  validateAnnotations(template?.metadata?.annotations, `${path}.metadata.annotations`, errors);
  validatePodSpec(template?.spec, `${path}.spec`, errors);
}

/** validateNodeTaints: a qualified key, a label value, a known effect, one taint per key and effect. */
function validateTaints(taints: Json[], path: string, errors: FieldError[]): void {
  const seen = new Set<string>();
  taints.forEach((t, i) => {
    const at = index(path, i);
    validateLabelName(t.key ?? '', child(at, 'key'), errors);
    const valueProblem = labelValueProblem(t.value ?? '');
    if (valueProblem) errors.push(invalidValue(child(at, 'value'), t.value, valueProblem));
    if (!t.effect) errors.push(required(child(at, 'effect')));
    else if (!(TAINT_EFFECTS as readonly string[]).includes(t.effect))
      errors.push(notSupported(child(at, 'effect'), t.effect, TAINT_EFFECTS));
    const identity = `${t.key ?? ''}\u0000${t.effect ?? ''}`;
    if (seen.has(identity)) {
      const error = duplicate(at, t);
      errors.push({ ...error, message: `${error.message}: taints must be unique by key and effect pair` });
    }
    seen.add(identity);
  });
}

/**
 * ValidatePositiveIntOrPercent plus IsNotMoreThan100Percent: `3`, `"25%"`; not `-1`, `"abc"`, `"150%"`.
 * Worked example: maxUnavailable "25%" of 10 replicas is 2 (rounded down), "150%" is refused.
 */
function validateIntOrPercent(value: unknown, path: string, errors: FieldError[]): void {
  if (value === undefined || value === null) return;
  if (typeof value === 'number') {
    if (value < 0) errors.push(invalidValue(path, value, 'must be greater than or equal to 0'));
  } else if (typeof value === 'string') {
    if (!isPercent(value)) errors.push(invalidValue(path, value, PERCENT_MESSAGE));
    else if (Number.parseInt(value, 10) > 100)
      errors.push(invalidValue(path, value, 'must not be greater than 100%'));
  }
}

function validateNonNegative(spec: Json, path: string, fields: string[], errors: FieldError[]): void {
  for (const field of fields) {
    const value = spec?.[field];
    if (typeof value === 'number' && value < 0)
      errors.push(invalidValue(child(path, field), value, 'must be greater than or equal to 0'));
  }
}

function validatePdbSpec(spec: Json, errors: FieldError[]): void {
  if (spec?.minAvailable != null && spec?.maxUnavailable != null)
    errors.push(invalidValue('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
  validateIntOrPercent(spec?.minAvailable, 'spec.minAvailable', errors);
  validateIntOrPercent(spec?.maxUnavailable, 'spec.maxUnavailable', errors);
  validateLabelSelector(spec?.selector, 'spec.selector', errors);
  const policy = spec?.unhealthyPodEvictionPolicy;
  if (policy != null && policy !== 'IfHealthyBudget' && policy !== 'AlwaysAllow')
    errors.push(notSupported('spec.unhealthyPodEvictionPolicy', policy, ['AlwaysAllow', 'IfHealthyBudget']));
}

/** ConfigMap and Secret keys (IsConfigMapKey); a ConfigMap key may be in data or binaryData, not both. */
function validateDataKeys(
  obj: KubeObject,
  otherBag: 'binaryData' | 'stringData',
  errors: FieldError[],
): void {
  for (const bag of ['data', otherBag]) {
    for (const key of Object.keys((obj[bag] as Record<string, unknown> | undefined) ?? {})) {
      const at = index(bag, key);
      let problem: string | undefined;
      if (key.length > 253) problem = 'must be no more than 253 characters';
      else if (!CONFIG_KEY.test(key)) problem = CONFIG_KEY_MESSAGE;
      else if (key === '.') problem = "must not be '.'";
      else if (key === '..') problem = "must not be '..'";
      else if (key.startsWith('..')) problem = "must not start with '..'";
      if (problem) errors.push(invalidValue(at, key, problem));
    }
  }
  if (otherBag === 'binaryData') {
    const binary = (obj.binaryData as Record<string, unknown> | undefined) ?? {};
    for (const key of Object.keys((obj.data as Record<string, unknown> | undefined) ?? {}))
      if (Object.hasOwn(binary, key))
        errors.push(invalidValue(index('data', key), key, 'duplicate of key present in binaryData'));
  }
}

const STRATEGY_TYPES: Record<string, { field: 'strategy' | 'updateStrategy'; types: string[] }> = {
  'apps/deployments': { field: 'strategy', types: ['Recreate', 'RollingUpdate'] },
  'apps/statefulsets': { field: 'updateStrategy', types: ['OnDelete', 'RollingUpdate'] },
  'apps/daemonsets': { field: 'updateStrategy', types: ['OnDelete', 'RollingUpdate'] },
};

function validateWorkload(resource: string, spec: Json, errors: FieldError[]): void {
  validateNonNegative(spec, 'spec', ['replicas', 'minReadySeconds', 'revisionHistoryLimit'], errors);
  const selector = spec?.selector;
  if (!selector) errors.push(required('spec.selector'));
  const labels = spec?.template?.metadata?.labels;
  if (selector) {
    const before = errors.length;
    validateLabelSelector(selector, 'spec.selector', errors);
    const empty = !selector.matchLabels && !selector.matchExpressions;
    if (empty)
      errors.push(invalidValue('spec.selector', selector, 'empty selector is invalid for deployment'));
    else if (errors.length === before) {
      try {
        if (!matchesLabelSelector(selector, labels))
          errors.push(
            invalidValue(
              'spec.template.metadata.labels',
              labels ?? {},
              '`selector` does not match template `labels`',
            ),
          );
      } catch (err) {
        if (!(err instanceof SelectorParseError)) throw err;
        errors.push(invalidValue('spec.selector', selector, err.message));
      }
    }
  }
  validateTemplate(spec?.template, 'spec.template', errors);
  const policy = spec?.template?.spec?.restartPolicy;
  if (resource !== 'apps/replicasets' && policy !== undefined && policy !== 'Always')
    errors.push(notSupported('spec.template.spec.restartPolicy', policy, ['Always']));
  const strategy = STRATEGY_TYPES[resource];
  if (strategy) validateStrategy(spec?.[strategy.field], `spec.${strategy.field}`, strategy.types, errors);
}

function validateStrategy(strategy: Json, path: string, types: string[], errors: FieldError[]): void {
  if (!strategy) return;
  if (strategy.type != null && !types.includes(strategy.type))
    errors.push(notSupported(child(path, 'type'), strategy.type, types));
  const rolling = strategy.rollingUpdate;
  if (!rolling) return;
  if (strategy.type !== undefined && strategy.type !== 'RollingUpdate') {
    errors.push(
      forbiddenField(
        child(path, 'rollingUpdate'),
        `may not be specified when strategy \`type\` is '${strategy.type}'`,
      ),
    );
    return;
  }
  const at = child(path, 'rollingUpdate');
  validateIntOrPercent(rolling.maxSurge, child(at, 'maxSurge'), errors);
  validateIntOrPercent(rolling.maxUnavailable, child(at, 'maxUnavailable'), errors);
  if (typeof rolling.partition === 'number' && rolling.partition < 0)
    errors.push(
      invalidValue(child(at, 'partition'), rolling.partition, 'must be greater than or equal to 0'),
    );
  if (
    path === 'spec.strategy' &&
    isZeroIntOrPercent(rolling.maxSurge) &&
    isZeroIntOrPercent(rolling.maxUnavailable)
  )
    errors.push(
      invalidValue(child(at, 'maxUnavailable'), rolling.maxUnavailable, 'may not be 0 when `maxSurge` is 0'),
    );
}

/** Fields an update may not change; `previous` is the stored object. */
export function validateUpdate(resource: string, obj: KubeObject, previous: KubeObject): FieldError[] {
  const shapeErrors = checkResourceShape(resource, obj);
  if (shapeErrors.length) return shapeErrors;
  const errors = validateFields(resource, obj);
  if (resource.startsWith('apps/') && resource !== 'apps/controllerrevisions') {
    if (JSON.stringify(obj.spec?.selector) !== JSON.stringify(previous.spec?.selector))
      errors.push(invalidValue('spec.selector', obj.spec?.selector, 'field is immutable'));
  }
  if (resource === 'pods' && !podSpecUpdateAllowed(previous.spec, obj.spec)) {
    errors.push(
      forbiddenField(
        'spec',
        'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      ),
    );
  }
  return errors;
}

/** Pod specs are immutable except for images, tolerations, deadlines and scheduling gates. */
function podSpecUpdateAllowed(before: Json, after: Json): boolean {
  const normalize = (spec: Json) => {
    const copy = structuredClone(spec ?? {});
    for (const field of ['containers', 'initContainers'])
      for (const c of (copy[field] as Json[] | undefined) ?? []) delete c.image;
    delete copy.activeDeadlineSeconds;
    delete copy.tolerations;
    delete copy.terminationGracePeriodSeconds;
    delete copy.schedulingGates;
    // Binding a pending pod to a node is the scheduler's write, allowed once.
    if (!spec?.nodeName) delete copy.nodeName;
    return copy;
  };
  const a = normalize(before);
  const b = normalize(after);
  if (!before?.nodeName) delete b.nodeName;
  return stableStringify(a) === stableStringify(b);
}

function stableStringify(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}
