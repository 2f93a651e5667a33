import { matchesLabelSelector, SelectorParseError } from '../../core/selectors.ts';
import type { FieldError } from '../status.ts';
import type { KubeObject } from '../store/types.ts';

/* biome-ignore lint/suspicious/noExplicitAny: validation reads arbitrary JSON fields. */
type Json = any;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Resources whose names are DNS-1123 labels rather than subdomains. */
const LABEL_NAMED = new Set(['namespaces', 'services']);

const required = (field: string, detail?: string): FieldError => ({
  reason: 'FieldValueRequired',
  field,
  message: detail ? `Required value: ${detail}` : 'Required value',
});
const invalidValue = (field: string, value: unknown, detail: string): FieldError => ({
  reason: 'FieldValueInvalid',
  field,
  message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
});
const duplicate = (field: string, value: unknown): FieldError => ({
  reason: 'FieldValueDuplicate',
  field,
  message: `Duplicate value: ${JSON.stringify(value)}`,
});
const forbiddenField = (field: string, detail: string): FieldError => ({
  reason: 'FieldValueForbidden',
  field,
  message: `Forbidden: ${detail}`,
});

/** Field errors of an object about to be stored; empty when it is valid. */
export function validateObject(resource: string, obj: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  validateMeta(resource, obj, errors);
  const spec: Json = obj.spec;
  switch (resource) {
    case 'pods':
      validatePodSpec(spec, 'spec', errors);
      break;
    case 'apps/deployments':
    case 'apps/replicasets':
    case 'apps/statefulsets':
    case 'apps/daemonsets':
      validateWorkload(resource, spec, errors);
      break;
    case 'batch/jobs': {
      validatePodSpec(spec?.template?.spec, 'spec.template.spec', errors);
      const policy = spec?.template?.spec?.restartPolicy;
      if (policy !== 'OnFailure' && policy !== 'Never')
        errors.push(
          policy === undefined
            ? required('spec.template.spec.restartPolicy', 'valid values: "OnFailure", "Never"')
            : {
                reason: 'FieldValueNotSupported',
                field: 'spec.template.spec.restartPolicy',
                message: `Unsupported value: ${JSON.stringify(policy)}: supported values: "OnFailure", "Never"`,
              },
        );
      break;
    }
    case 'policy/poddisruptionbudgets':
      if (spec?.minAvailable != null && spec?.maxUnavailable != null)
        errors.push(invalidValue('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
      break;
  }
  return errors;
}

function validateMeta(resource: string, obj: KubeObject, errors: FieldError[]): void {
  const name = obj.metadata.name;
  if (!name) errors.push(required('metadata.name', 'name or generateName is required'));
  else if (LABEL_NAMED.has(resource)) {
    if (!DNS1123_LABEL.test(name) || name.length > 63)
      errors.push(invalidValue('metadata.name', name, LABEL_MESSAGE));
  } else if (resource !== 'events' && resource !== 'events.k8s.io/events') {
    if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253)
      errors.push(invalidValue('metadata.name', name, SUBDOMAIN_MESSAGE));
  }
  for (const [key, value] of Object.entries(obj.metadata.labels ?? {})) {
    if (!QUALIFIED_NAME.test(key))
      errors.push(invalidValue('metadata.labels', key, 'name part must consist of alphanumeric characters'));
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value))
      errors.push(
        invalidValue(
          'metadata.labels',
          value,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        ),
      );
  }
}

function validatePodSpec(spec: Json, path: string, errors: FieldError[]): void {
  const containers: Json[] | undefined = spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    errors.push(required(`${path}.containers`));
    return;
  }
  const names = new Set<string>();
  for (const [field, list] of [
    ['containers', containers],
    ['initContainers', spec.initContainers ?? []],
  ] as const) {
    (list as Json[]).forEach((c, i) => {
      const at = `${path}.${field}[${i}]`;
      if (!c?.name) errors.push(required(`${at}.name`));
      else if (!DNS1123_LABEL.test(c.name)) errors.push(invalidValue(`${at}.name`, c.name, LABEL_MESSAGE));
      else if (names.has(c.name)) errors.push(duplicate(`${at}.name`, c.name));
      else names.add(c.name);
      if (!c?.image) errors.push(required(`${at}.image`));
    });
  }
}

function validateWorkload(resource: string, spec: Json, errors: FieldError[]): void {
  if (spec?.replicas != null && (!Number.isInteger(spec.replicas) || spec.replicas < 0))
    errors.push(invalidValue('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  const selector = spec?.selector;
  if (!selector) errors.push(required('spec.selector'));
  const labels = spec?.template?.metadata?.labels;
  if (selector) {
    let empty = !selector.matchLabels && !selector.matchExpressions;
    try {
      if (!empty && !matchesLabelSelector(selector, labels))
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
      empty = false;
    }
    if (empty)
      errors.push(invalidValue('spec.selector', selector, 'empty selector is invalid for deployment'));
  }
  validatePodSpec(spec?.template?.spec, 'spec.template.spec', errors);
  const policy = spec?.template?.spec?.restartPolicy;
  if (resource !== 'apps/replicasets' && policy !== undefined && policy !== 'Always')
    errors.push({
      reason: 'FieldValueNotSupported',
      field: 'spec.template.spec.restartPolicy',
      message: `Unsupported value: ${JSON.stringify(policy)}: supported values: "Always"`,
    });
}

/** Fields an update may not change; `previous` is the stored object. */
export function validateUpdate(resource: string, obj: KubeObject, previous: KubeObject): FieldError[] {
  const errors = validateObject(resource, obj);
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
