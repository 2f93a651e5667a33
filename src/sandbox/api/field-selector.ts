import { badRequest } from '../status.ts';
import type { KubeObject } from '../store/types.ts';

export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

export interface FieldSelector {
  requirements: FieldRequirement[];
  matches(obj: KubeObject): boolean;
}

type FieldGetter = (obj: KubeObject) => string | undefined;

const COMMON: Record<string, FieldGetter> = {
  'metadata.name': (o) => o.metadata.name,
  'metadata.namespace': (o) => o.metadata.namespace,
};

const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));

/** Fields each resource accepts in `fieldSelector`, as the real server's field label conversion funcs do. */
const BY_RESOURCE: Record<string, Record<string, FieldGetter>> = {
  pods: {
    'spec.nodeName': (o) => o.spec?.nodeName,
    'spec.restartPolicy': (o) => o.spec?.restartPolicy,
    'spec.schedulerName': (o) => o.spec?.schedulerName,
    'spec.serviceAccountName': (o) => o.spec?.serviceAccountName,
    'spec.hostNetwork': (o) => String(Boolean(o.spec?.hostNetwork)),
    'status.phase': (o) => o.status?.phase,
    'status.podIP': (o) => o.status?.podIP,
    'status.nominatedNodeName': (o) => o.status?.nominatedNodeName,
  },
  nodes: { 'spec.unschedulable': (o) => String(Boolean(o.spec?.unschedulable)) },
  events: {
    'involvedObject.kind': (o) => str((o.involvedObject as KubeObject | undefined)?.kind),
    'involvedObject.namespace': (o) =>
      str((o.involvedObject as Record<string, unknown> | undefined)?.namespace),
    'involvedObject.name': (o) => str((o.involvedObject as Record<string, unknown> | undefined)?.name),
    'involvedObject.uid': (o) => str((o.involvedObject as Record<string, unknown> | undefined)?.uid),
    'involvedObject.apiVersion': (o) =>
      str((o.involvedObject as Record<string, unknown> | undefined)?.apiVersion),
    'involvedObject.resourceVersion': (o) =>
      str((o.involvedObject as Record<string, unknown> | undefined)?.resourceVersion),
    'involvedObject.fieldPath': (o) =>
      str((o.involvedObject as Record<string, unknown> | undefined)?.fieldPath),
    reason: (o) => str(o.reason),
    reportingComponent: (o) => str(o.reportingComponent),
    source: (o) => str((o.source as Record<string, unknown> | undefined)?.component),
    type: (o) => str(o.type),
  },
  secrets: { type: (o) => str(o.type) },
  namespaces: { 'status.phase': (o) => o.status?.phase },
  'apps/replicasets': { 'status.replicas': (o) => str(o.status?.replicas ?? 0) },
  'batch/jobs': { 'status.successful': (o) => str(o.status?.succeeded ?? 0) },
};

/** Every list and watch request parses a field selector, so each resource's table of fields is built once. */
const fieldsByResource = new Map<string, Record<string, FieldGetter>>();
function fieldsOf(resource: string): Record<string, FieldGetter> {
  let fields = fieldsByResource.get(resource);
  if (!fields) {
    fields = { ...COMMON, ...(BY_RESOURCE[resource] ?? {}) };
    fieldsByResource.set(resource, fields);
  }
  return fields;
}

/**
 * Parses `fieldSelector` for a resource (its store key). Unknown fields are a 400 with the real server's
 * message, `field label not supported: <field>`.
 */
export function parseFieldSelector(resource: string, selector: string | null): FieldSelector {
  const requirements: FieldRequirement[] = [];
  const getters: FieldGetter[] = [];
  const fields = fieldsOf(resource);
  for (const term of splitTerms(selector ?? '')) {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const field = m[1]!.trim();
    const getter = Object.hasOwn(fields, field) ? fields[field] : undefined;
    if (!getter) throw badRequest(`field label not supported: ${field}`);
    requirements.push({ field, operator: m[2] === '!=' ? '!=' : '=', value: unescapeValue(m[3]!) });
    getters.push(getter);
  }
  return {
    requirements,
    matches(obj) {
      for (let i = 0; i < requirements.length; i++) {
        const req = requirements[i]!;
        const actual = getters[i]!(obj) ?? '';
        if ((actual === req.value) !== (req.operator === '=')) return false;
      }
      return true;
    },
  };
}

/** Splits on unescaped commas; `\,` `\=` `\\` escape as in k8s.io/apimachinery/pkg/fields. */
function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let current = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      current += c + s[i + 1];
      i++;
    } else if (c === ',') {
      terms.push(current);
      current = '';
    } else current += c;
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

function unescapeValue(v: string): string {
  return v.replace(/\\(.)/g, '$1');
}

/** The node name of a `spec.nodeName=X` requirement, which the store answers from its index. */
export function nodeNameEquality(selector: FieldSelector): string | undefined {
  // Note: `spec.nodeName=` selects unbound pods, which the index does not hold.
  return selector.requirements.find(
    (r) => r.field === 'spec.nodeName' && r.operator === '=' && r.value !== '',
  )?.value;
}
