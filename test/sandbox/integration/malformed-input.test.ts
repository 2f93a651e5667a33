import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningSandbox, startSandbox } from '../../e2e/sandbox-harness.ts';
import { scenarioFromYaml } from './integration-helpers.ts';

const SMALL = scenarioFromYaml(`
name: small
kubernetesVersion: v1.31.2
prebindPods: true
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 2, capacity: { cpu: "4", memory: 16Gi } }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 2, pdb: { maxUnavailable: 1 } }
`);

let sandbox: RunningSandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ scenario: SMALL, timeScale: 20 });
});
afterAll(() => sandbox?.stop());

const JSON_PATCH = { 'content-type': 'application/json-patch+json' };
const MERGE_PATCH = { 'content-type': 'application/merge-patch+json' };
const SMP = { 'content-type': 'application/strategic-merge-patch+json' };
// Long enough to be absurd, short enough to fit Node's 16 KiB header limit (beyond it the answer is a bare 431).
const HUGE_SELECTOR = encodeURIComponent(
  `app in (${Array.from({ length: 900 }, (_, i) => `v${i}`).join(',')}),!`,
);
const HUGE_KEY_SELECTOR = `${'k'.repeat(5000)}=v`;

interface BadRequest {
  what: string;
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

const BAD_REQUESTS: BadRequest[] = [
  { what: 'truncated JSON', method: 'POST', path: '/api/v1/namespaces/app/pods', body: '{"metadata": ' },
  { what: 'a JSON array as an object', method: 'POST', path: '/api/v1/namespaces/app/pods', body: '[1, 2]' },
  {
    what: 'a JSON string as an object',
    method: 'POST',
    path: '/api/v1/namespaces/app/configmaps',
    body: '"x"',
  },
  {
    what: 'a pod without a name',
    method: 'POST',
    path: '/api/v1/namespaces/app/pods',
    body: '{"apiVersion":"v1","kind":"Pod","metadata":{},"spec":{"containers":[]}}',
  },
  {
    what: 'a body of the wrong kind',
    method: 'POST',
    path: '/api/v1/namespaces/app/configmaps',
    body: '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"}}',
  },
  {
    what: 'a plain-text body',
    method: 'POST',
    path: '/api/v1/namespaces/app/configmaps',
    body: 'name=x',
    headers: { 'content-type': 'text/plain' },
  },
  {
    what: 'an XML body',
    method: 'PUT',
    path: '/api/v1/nodes/general-1',
    body: '<node/>',
    headers: { 'content-type': 'application/xml' },
  },
  { what: 'limit=-1', method: 'GET', path: '/api/v1/pods?limit=-1' },
  { what: 'limit=abc', method: 'GET', path: '/api/v1/pods?limit=abc' },
  { what: 'a garbled continue token', method: 'GET', path: '/api/v1/pods?limit=1&continue=%%%' },
  {
    what: 'watch from resourceVersion=abc',
    method: 'GET',
    path: '/api/v1/pods?watch=true&resourceVersion=abc',
  },
  {
    what: 'watch with timeoutSeconds=soon',
    method: 'GET',
    path: '/api/v1/pods?watch=true&timeoutSeconds=soon',
  },
  { what: 'an unknown core resource', method: 'GET', path: '/api/v1/widgets' },
  { what: 'an unknown group', method: 'GET', path: '/apis/nope.example.com/v1/things' },
  { what: 'an unknown version', method: 'GET', path: '/api/v9/pods' },
  {
    what: 'a path that climbs out',
    method: 'GET',
    path: '/api/v1/namespaces/app/pods/../../../../etc/passwd',
  },
  { what: 'a huge label selector', method: 'GET', path: `/api/v1/pods?labelSelector=${HUGE_SELECTOR}` },
  {
    what: 'a label key of 5,000 characters',
    method: 'GET',
    path: `/api/v1/pods?labelSelector=${HUGE_KEY_SELECTOR}`,
  },
  {
    what: 'a selector with unbalanced parentheses',
    method: 'GET',
    path: '/api/v1/pods?labelSelector=app%20in%20(a',
  },
  { what: 'an unknown field selector', method: 'GET', path: '/api/v1/pods?fieldSelector=spec.bogus%3D1' },
  {
    what: 'a JSON patch that is not a list',
    method: 'PATCH',
    path: '/api/v1/nodes/general-1',
    body: '{"op":"add"}',
    headers: JSON_PATCH,
  },
  {
    what: 'a JSON patch with an unknown op',
    method: 'PATCH',
    path: '/api/v1/nodes/general-1',
    body: '[{"op":"explode","path":"/spec"}]',
    headers: JSON_PATCH,
  },
  {
    what: 'a JSON patch removing a missing path',
    method: 'PATCH',
    path: '/api/v1/nodes/general-1',
    body: '[{"op":"remove","path":"/spec/nothing/here"}]',
    headers: JSON_PATCH,
  },
  {
    what: 'a merge patch that is not JSON',
    method: 'PATCH',
    path: '/api/v1/nodes/general-1',
    body: '{spec: unschedulable}',
    headers: MERGE_PATCH,
  },
  {
    what: 'a strategic merge patch that is a list',
    method: 'PATCH',
    path: '/api/v1/nodes/general-1',
    body: '[1]',
    headers: SMP,
  },
  {
    what: 'a strategic merge patch with a bad directive',
    method: 'PATCH',
    path: '/api/v1/nodes/general-1',
    body: '{"spec":{"taints":[{"$patch":"explode"}]}}',
    headers: SMP,
  },
  {
    what: 'a patch of an unsupported type',
    method: 'PATCH',
    path: '/api/v1/nodes/general-1',
    body: '{}',
    headers: { 'content-type': 'application/yaml' },
  },
  {
    what: 'an eviction that is a list',
    method: 'POST',
    path: '/api/v1/namespaces/app/pods/nobody/eviction',
    body: '[]',
  },
  {
    what: 'delete options that are not JSON',
    method: 'DELETE',
    path: '/api/v1/namespaces/app/configmaps/nothing',
    body: '{"gracePeriodSeconds":',
  },
  {
    what: 'a negative grace period in the query',
    method: 'DELETE',
    path: '/api/v1/nodes/none?gracePeriodSeconds=x',
  },
  {
    what: 'a scale of a missing deployment',
    method: 'GET',
    path: '/apis/apps/v1/namespaces/app/deployments/x/scale',
  },
  {
    what: 'a scale to a negative replica count',
    method: 'PUT',
    path: '/apis/apps/v1/namespaces/app/deployments/web/scale',
    body: '{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","namespace":"app"},"spec":{"replicas":-3}}',
  },
  { what: 'a method the resource does not serve', method: 'PATCH', path: '/api/v1/pods' },
];

/** A write whose body decodes but whose fields have the wrong types or values: 422 Invalid, with the field. */
interface InvalidWrite {
  what: string;
  method: string;
  path: string;
  body: unknown;
  headers?: Record<string, string>;
  /** The kind the Status names (details.kind). */
  kind: string;
  /** The first cause's field path and type. */
  field: string;
  cause?: string;
  /** Part of the first cause's message. */
  message: string;
}

const pod = (name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...metadata },
  spec: { containers: [{ name: 'app', image: 'nginx:1.27' }], ...spec },
});
const container = (extra: Record<string, unknown>) => [{ name: 'app', image: 'nginx:1.27', ...extra }];
const deployment = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: container({}) } },
    ...spec,
  },
});
const pdb = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: { name },
  spec,
});
const configMap = (name: string, fields: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  ...fields,
});
const QUANTITY =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const RFC1123_LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const RFC1123_SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

const PODS = '/api/v1/namespaces/app/pods';
const PDBS = '/apis/policy/v1/namespaces/app/poddisruptionbudgets';
const NODE = '/api/v1/nodes/general-1';

const INVALID_WRITES: InvalidWrite[] = [
  // Node taints, by every patch type: the value that used to crash the node lifecycle controller.
  {
    what: 'node spec.taints as an object (merge patch)',
    method: 'PATCH',
    path: NODE,
    body: { spec: { taints: { key: 'a' } } },
    headers: MERGE_PATCH,
    kind: 'Node',
    field: 'spec.taints',
    message: 'Invalid value: {"key":"a"}: must be an array',
  },
  {
    what: 'node spec.taints as a string (strategic merge patch)',
    method: 'PATCH',
    path: NODE,
    body: { spec: { taints: 'x' } },
    headers: SMP,
    kind: 'Node',
    field: 'spec.taints',
    message: 'Invalid value: "x": must be an array',
  },
  {
    what: 'node spec.taints as a string (JSON patch)',
    method: 'PATCH',
    path: NODE,
    body: [{ op: 'add', path: '/spec/taints', value: 'x' }],
    headers: JSON_PATCH,
    kind: 'Node',
    field: 'spec.taints',
    message: 'must be an array',
  },
  {
    what: 'a node taint without an effect',
    method: 'PATCH',
    path: NODE,
    body: { spec: { taints: [{ key: 'dedicated', value: 'db' }] } },
    headers: MERGE_PATCH,
    kind: 'Node',
    field: 'spec.taints[0].effect',
    cause: 'FieldValueRequired',
    message: 'Required value',
  },
  {
    what: 'a node taint with an unknown effect',
    method: 'PATCH',
    path: NODE,
    body: { spec: { taints: [{ key: 'dedicated', effect: 'NoWay' }] } },
    headers: SMP,
    kind: 'Node',
    field: 'spec.taints[0].effect',
    cause: 'FieldValueNotSupported',
    message: 'Unsupported value: "NoWay": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
  },
  {
    what: 'a node taint whose key is a number',
    method: 'PATCH',
    path: NODE,
    body: { spec: { taints: [{ key: 7, effect: 'NoSchedule' }] } },
    headers: MERGE_PATCH,
    kind: 'Node',
    field: 'spec.taints[0].key',
    message: 'Invalid value: 7: must be a string',
  },
  {
    what: 'node spec.unschedulable as a string',
    method: 'PATCH',
    path: NODE,
    body: { spec: { unschedulable: 'yes' } },
    headers: SMP,
    kind: 'Node',
    field: 'spec.unschedulable',
    message: 'must be a boolean',
  },
  // Labels and annotations are maps of strings, in every object's metadata.
  {
    what: 'node labels as an array (merge patch)',
    method: 'PATCH',
    path: '/api/v1/nodes/general-2',
    body: { metadata: { labels: ['a'] } },
    headers: MERGE_PATCH,
    kind: 'Node',
    field: 'metadata.labels',
    message: 'Invalid value: ["a"]: must be a map of string keys to string values',
  },
  {
    what: 'a node label with a number value (strategic merge patch)',
    method: 'PATCH',
    path: '/api/v1/nodes/general-2',
    body: { metadata: { labels: { zone: 1 } } },
    headers: SMP,
    kind: 'Node',
    field: 'metadata.labels[zone]',
    message: 'Invalid value: 1: must be a string',
  },
  {
    what: 'node annotations as an array (JSON patch)',
    method: 'PATCH',
    path: '/api/v1/nodes/general-2',
    body: [{ op: 'replace', path: '/metadata/annotations', value: ['a'] }],
    headers: JSON_PATCH,
    kind: 'Node',
    field: 'metadata.annotations',
    message: 'must be a map of string keys to string values',
  },
  {
    what: 'a node replaced with labels as an array (PUT)',
    method: 'PUT',
    path: '/api/v1/nodes/general-2',
    body: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'general-2', labels: ['a'] } },
    kind: 'Node',
    field: 'metadata.labels',
    message: 'must be a map of string keys to string values',
  },
  {
    what: 'a label value that is not a valid label',
    method: 'PATCH',
    path: '/api/v1/nodes/general-2',
    body: { metadata: { labels: { zone: 'not a label!' } } },
    headers: MERGE_PATCH,
    kind: 'Node',
    field: 'metadata.labels',
    message: 'a valid label must be an empty string or consist of alphanumeric characters',
  },
  // The status subresource is checked as strictly as the object.
  {
    what: 'node capacity that is not a quantity (status subresource)',
    method: 'PATCH',
    path: `${NODE}/status`,
    body: { status: { capacity: { cpu: 'lots' } } },
    headers: MERGE_PATCH,
    kind: 'Node',
    field: 'status.capacity[cpu]',
    message: QUANTITY,
  },
  {
    what: 'node conditions as a string (status subresource)',
    method: 'PATCH',
    path: `${NODE}/status`,
    body: { status: { conditions: 'x' } },
    headers: SMP,
    kind: 'Node',
    field: 'status.conditions',
    message: 'must be an array',
  },
  {
    what: 'a budget status count as a string (status subresource)',
    method: 'PATCH',
    path: `${PDBS}/web-pdb/status`,
    body: { status: { disruptionsAllowed: 'many' } },
    headers: MERGE_PATCH,
    kind: 'PodDisruptionBudget',
    field: 'status.disruptionsAllowed',
    message: 'Invalid value: "many": must be an integer',
  },
  // Pods.
  {
    what: 'pod labels as an array',
    method: 'POST',
    path: PODS,
    body: pod('bad-labels', {}, { labels: ['a'] }),
    kind: 'Pod',
    field: 'metadata.labels',
    message: 'must be a map of string keys to string values',
  },
  {
    what: 'pod metadata that is not an object',
    method: 'POST',
    path: PODS,
    body: { apiVersion: 'v1', kind: 'Pod', metadata: 'bad', spec: { containers: container({}) } },
    kind: 'Pod',
    field: 'metadata',
    message: 'Invalid value: "bad": must be an object',
  },
  {
    what: 'a CPU request of "lots"',
    method: 'POST',
    path: PODS,
    body: pod('bad-cpu', { containers: container({ resources: { requests: { cpu: 'lots' } } }) }),
    kind: 'Pod',
    field: 'spec.containers[0].resources.requests[cpu]',
    message: `Invalid value: "lots": ${QUANTITY}`,
  },
  {
    what: 'a negative memory request',
    method: 'POST',
    path: PODS,
    body: pod('bad-memory', { containers: container({ resources: { requests: { memory: '-1Gi' } } }) }),
    kind: 'Pod',
    field: 'spec.containers[0].resources.requests[memory]',
    message: 'must be greater than or equal to 0',
  },
  {
    what: 'resource limits that are not a map',
    method: 'POST',
    path: PODS,
    body: pod('bad-limits', { containers: container({ resources: { limits: '1' } }) }),
    kind: 'Pod',
    field: 'spec.containers[0].resources.limits',
    message: 'must be a map of string keys to quantities',
  },
  {
    what: 'a request above its limit',
    method: 'POST',
    path: PODS,
    body: pod('over-limit', {
      containers: container({ resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }),
    }),
    kind: 'Pod',
    field: 'spec.containers[0].resources.requests[cpu]',
    message: 'must be less than or equal to cpu limit of 1',
  },
  {
    what: 'pod containers that are not a list',
    method: 'POST',
    path: PODS,
    body: pod('bad-containers', { containers: { name: 'app', image: 'nginx' } }),
    kind: 'Pod',
    field: 'spec.containers',
    message: 'must be an array',
  },
  {
    what: 'pod tolerations as a string',
    method: 'POST',
    path: PODS,
    body: pod('bad-tolerations', { tolerations: 'x' }),
    kind: 'Pod',
    field: 'spec.tolerations',
    message: 'Invalid value: "x": must be an array',
  },
  {
    what: 'a toleration with an unknown operator',
    method: 'POST',
    path: PODS,
    body: pod('bad-operator', { tolerations: [{ key: 'a', operator: 'Maybe', effect: 'NoSchedule' }] }),
    kind: 'Pod',
    field: 'spec.tolerations[0].operator',
    cause: 'FieldValueNotSupported',
    message: 'supported values: "Equal", "Exists"',
  },
  {
    what: 'tolerationSeconds as a string',
    method: 'POST',
    path: PODS,
    body: pod('bad-seconds', {
      tolerations: [{ operator: 'Exists', effect: 'NoExecute', tolerationSeconds: '5' }],
    }),
    kind: 'Pod',
    field: 'spec.tolerations[0].tolerationSeconds',
    message: 'must be an integer',
  },
  {
    what: 'a nodeSelector with a number value',
    method: 'POST',
    path: PODS,
    body: pod('bad-selector', { nodeSelector: { zone: 1 } }),
    kind: 'Pod',
    field: 'spec.nodeSelector[zone]',
    message: 'must be a string',
  },
  // Budgets.
  {
    what: 'a budget selector as a string',
    method: 'POST',
    path: PDBS,
    body: pdb('bad-selector', { selector: 'x', maxUnavailable: 1 }),
    kind: 'PodDisruptionBudget',
    field: 'spec.selector',
    message: 'Invalid value: "x": must be an object',
  },
  {
    what: 'minAvailable as an object',
    method: 'POST',
    path: PDBS,
    body: pdb('bad-min', { selector: { matchLabels: { app: 'web' } }, minAvailable: { a: 1 } }),
    kind: 'PodDisruptionBudget',
    field: 'spec.minAvailable',
    message: 'Invalid value: {"a":1}: must be an integer or a string',
  },
  {
    what: 'minAvailable as a word',
    method: 'POST',
    path: PDBS,
    body: pdb('bad-percent', { selector: { matchLabels: { app: 'web' } }, minAvailable: 'half' }),
    kind: 'PodDisruptionBudget',
    field: 'spec.minAvailable',
    message: "a valid percent string must be a numeric string followed by an ending '%'",
  },
  {
    what: 'maxUnavailable above 100%',
    method: 'PATCH',
    path: `${PDBS}/web-pdb`,
    body: { spec: { maxUnavailable: '150%' } },
    headers: MERGE_PATCH,
    kind: 'PodDisruptionBudget',
    field: 'spec.maxUnavailable',
    message: 'must not be greater than 100%',
  },
  {
    what: 'a selector requirement with an unknown operator',
    method: 'POST',
    path: PDBS,
    body: pdb('bad-operator', {
      selector: { matchExpressions: [{ key: 'app', operator: 'Near', values: ['a'] }] },
    }),
    kind: 'PodDisruptionBudget',
    field: 'spec.selector.matchExpressions[0].operator',
    message: 'not a valid selector operator',
  },
  // Workloads.
  {
    what: 'deployment replicas "three"',
    method: 'POST',
    path: '/apis/apps/v1/namespaces/app/deployments',
    body: deployment('bad-replicas', { replicas: 'three' }),
    kind: 'Deployment',
    field: 'spec.replicas',
    message: 'Invalid value: "three": must be an integer',
  },
  {
    what: 'deployment replicas "three" (merge patch)',
    method: 'PATCH',
    path: '/apis/apps/v1/namespaces/app/deployments/web',
    body: { spec: { replicas: 'three' } },
    headers: MERGE_PATCH,
    kind: 'Deployment',
    field: 'spec.replicas',
    message: 'must be an integer',
  },
  {
    what: 'a maxSurge that is neither a number nor a percentage',
    method: 'POST',
    path: '/apis/apps/v1/namespaces/app/deployments',
    body: deployment('bad-surge', {
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 'lots' } },
    }),
    kind: 'Deployment',
    field: 'spec.strategy.rollingUpdate.maxSurge',
    message: 'a valid percent string',
  },
  {
    what: 'template labels as an array',
    method: 'PATCH',
    path: '/apis/apps/v1/namespaces/app/deployments/web',
    body: { spec: { template: { metadata: { labels: ['web'] } } } },
    headers: SMP,
    kind: 'Deployment',
    field: 'spec.template.metadata.labels',
    message: 'must be a map of string keys to string values',
  },
  {
    what: 'a scale to "three" replicas',
    method: 'PUT',
    path: '/apis/apps/v1/namespaces/app/deployments/web/scale',
    body: {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: 'web', namespace: 'app' },
      spec: { replicas: 'three' },
    },
    kind: 'Scale',
    field: 'spec.replicas',
    message: 'must be an integer',
  },
  // ConfigMaps, Secrets, evictions and server-side apply.
  {
    what: 'configmap data with a number value',
    method: 'POST',
    path: '/api/v1/namespaces/app/configmaps',
    body: configMap('bad-data', { data: { a: 5 } }),
    kind: 'ConfigMap',
    field: 'data[a]',
    message: 'Invalid value: 5: must be a string',
  },
  {
    what: 'configmap binaryData that is not base64',
    method: 'POST',
    path: '/api/v1/namespaces/app/configmaps',
    body: configMap('bad-binary', { binaryData: { blob: 'not base64!' } }),
    kind: 'ConfigMap',
    field: 'binaryData[blob]',
    message: 'must be a base64-encoded string',
  },
  {
    what: 'a configmap key with a space',
    method: 'POST',
    path: '/api/v1/namespaces/app/configmaps',
    body: configMap('bad-key', { data: { 'my key': 'v' } }),
    kind: 'ConfigMap',
    field: 'data[my key]',
    message: 'a valid config key must consist of alphanumeric characters',
  },
  {
    what: 'secret data that is not base64',
    method: 'POST',
    path: '/api/v1/namespaces/app/secrets',
    body: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bad-secret' },
      data: { password: 'hunter2!' },
    },
    kind: 'Secret',
    field: 'data[password]',
    message: 'must be a base64-encoded string',
  },
  {
    what: 'configmap data with a number value (server-side apply)',
    method: 'PATCH',
    path: '/api/v1/namespaces/app/configmaps/applied?fieldManager=tester',
    body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: 5\n',
    headers: { 'content-type': 'application/apply-patch+yaml' },
    kind: 'ConfigMap',
    field: 'data[a]',
    message: 'must be a string',
  },
  // Names and label keys: Kubernetes' RFC 1123 rules, with its messages word for word (kubectl prints them).
  {
    what: 'a namespace name with an underscore',
    method: 'POST',
    path: '/api/v1/namespaces',
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bad_name' } },
    kind: 'Namespace',
    field: 'metadata.name',
    message: `Invalid value: "bad_name": ${RFC1123_LABEL}`,
  },
  {
    what: 'a configmap name with capitals',
    method: 'POST',
    path: '/api/v1/namespaces/app/configmaps',
    body: configMap('Bad.Name', {}),
    kind: 'ConfigMap',
    field: 'metadata.name',
    message: `Invalid value: "Bad.Name": ${RFC1123_SUBDOMAIN}`,
  },
  {
    what: 'a container name with capitals',
    method: 'POST',
    path: PODS,
    body: pod('bad-container-name', { containers: [{ name: 'App', image: 'nginx:1.27' }] }),
    kind: 'Pod',
    field: 'spec.containers[0].name',
    message: `Invalid value: "App": ${RFC1123_LABEL}`,
  },
  {
    what: 'a label key whose prefix is not a DNS subdomain',
    method: 'POST',
    path: '/api/v1/namespaces/app/configmaps',
    body: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'bad-label-prefix', labels: { 'Example_Com/app': 'web' } },
    },
    kind: 'ConfigMap',
    field: 'metadata.labels',
    message: `Invalid value: "Example_Com/app": prefix part ${RFC1123_SUBDOMAIN}`,
  },
  {
    what: 'an eviction whose grace period is a word',
    method: 'POST',
    path: '/api/v1/namespaces/app/pods/nobody/eviction',
    body: {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'nobody' },
      deleteOptions: { gracePeriodSeconds: 'soon' },
    },
    kind: 'Eviction',
    field: 'deleteOptions.gracePeriodSeconds',
    message: 'must be an integer',
  },
];

describe('the API server on wrongly typed or invalid fields', () => {
  it.each(INVALID_WRITES)(
    'answers $what with 422 Invalid naming $field',
    async ({ method, path, body, headers, kind, field, cause, message }) => {
      const res = await sandbox.request(method, path, { body, headers });
      expect(res.status, res.body).toBe(422);
      const status = res.json();
      expect(status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422 });
      expect(status.details.kind).toBe(kind);
      expect(status.details.causes[0]).toMatchObject({ field, reason: cause ?? 'FieldValueInvalid' });
      expect(status.details.causes[0].message).toContain(message);
      // kubectl prints the message: it names the object, then each field with what is wrong with it.
      expect(status.message).toMatch(new RegExp(`^${kind} "[^"]*" is invalid: \\[?${escapeRegExp(field)}: `));
      // Still answering (what was stored is checked below, once simulated time has moved on).
      const health = await sandbox.request('GET', '/healthz', { headers: { accept: 'text/plain' } });
      expect(health.status).toBe(200);
    },
  );

  it('stored none of it, and the simulation never had to contain an error', async () => {
    // Simulated time moves on (timeScale 20): the node lifecycle, scheduler and kubelets see every node.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const name of ['general-1', 'general-2']) {
      const node = (await sandbox.request('GET', `/api/v1/nodes/${name}`)).json();
      expect(node.spec.taints ?? []).toEqual(expect.any(Array));
      expect(node.spec.unschedulable).toBeUndefined();
      expect(Array.isArray(node.metadata.labels)).toBe(false);
      expect(node.metadata.labels['kubernetes.io/hostname']).toBe(name);
      expect(node.status.capacity.cpu).toBe('4');
    }
    const budget = (await sandbox.request('GET', `${PDBS}/web-pdb`)).json();
    expect(budget.spec.maxUnavailable).toBe(1);
    const web = (await sandbox.request('GET', '/apis/apps/v1/namespaces/app/deployments/web')).json();
    expect(web.spec.replicas).toBe(2);
    const pods = (await sandbox.request('GET', PODS)).json();
    expect(pods.items.map((p: { metadata: { name: string } }) => p.metadata.name)).not.toContain('bad-cpu');
    const metrics = await sandbox.request('GET', '/metrics', { headers: { accept: 'text/plain' } });
    expect(metrics.body).not.toMatch(/^sandbox_simulation_errors_total\{/m);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('the API server on malformed input', () => {
  it.each(BAD_REQUESTS)('answers $what with a 4xx Status', async ({ method, path, body, headers }) => {
    const res = await sandbox.request(method, path, { body, headers });
    expect(res.status, res.body).toBeGreaterThanOrEqual(400);
    expect(res.status, res.body).toBeLessThan(500);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const status = res.json();
    expect(status).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: res.status });
    expect(status.message).toEqual(expect.any(String));
  });

  it.each([
    {
      what: 'an upgrade body that is not JSON',
      method: 'POST',
      path: '/sandbox/v1/nodes/general-1/upgrade',
      body: 'v1',
    },
    {
      what: 'an upgrade without a version',
      method: 'POST',
      path: '/sandbox/v1/nodes/general-1/upgrade',
      body: '{}',
    },
    { what: 'faults that are not JSON', method: 'PATCH', path: '/sandbox/v1/faults', body: '{"api": ' },
    {
      what: 'faults of the wrong type',
      method: 'PATCH',
      path: '/sandbox/v1/faults',
      body: '{"api":{"errorRate":"lots"}}',
    },
    { what: 'an unknown fault', method: 'PUT', path: '/sandbox/v1/faults', body: '{"earthquake":true}' },
    { what: 'advancing a scaled clock', method: 'POST', path: '/sandbox/v1/clock/advance?seconds=-1' },
  ])('answers $what on the admin API with a 4xx and an error message', async ({ method, path, body }) => {
    const res = await sandbox.request(method, path, { body });
    expect(res.status, res.body).toBeGreaterThanOrEqual(400);
    expect(res.status, res.body).toBeLessThan(500);
    expect(res.json().error).toEqual(expect.any(String));
  });

  it('still serves after all that, with the cluster unchanged', async () => {
    const health = await sandbox.request('GET', '/healthz', { headers: { accept: 'text/plain' } });
    expect([health.status, health.body]).toEqual([200, 'ok']);
    const node = (await sandbox.request('GET', '/api/v1/nodes/general-1')).json();
    expect(node.spec.unschedulable).toBeUndefined();
    const faults = (await sandbox.request('GET', '/sandbox/v1/faults')).json();
    expect(faults.api?.errorRate ?? 0).toBe(0);
  });
});

describe('the simulation on bad objects that reached the store behind the API server', () => {
  it('contains what they make its actors throw, logs it once and keeps serving', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const store = sandbox.box.ctx.store;
      // Note: `mutate` is the simulation's own write path, which the API server's validation never sees.
      store.mutate('nodes', undefined, 'general-1', (node) => {
        node.spec = { ...node.spec, taints: 'x' };
      });
      store.mutate('nodes', undefined, 'general-2', (node) => {
        node.status = { ...node.status, conditions: 'x' };
      });
      const [victim] = store.list('pods').filter((p) => p.metadata.namespace === 'app');
      store.mutate('pods', 'app', victim!.metadata.name!, (p) => {
        p.metadata.ownerReferences = 'x' as never;
      });
      store.mutate('policy/poddisruptionbudgets', 'app', 'web-pdb', (b) => {
        b.spec = { ...b.spec, selector: 'x', maxUnavailable: { a: 1 } };
      });
      // Several heartbeats, node syncs and controller retries (timeScale 20).
      await new Promise((resolve) => setTimeout(resolve, 1500));

      const health = await sandbox.request('GET', '/healthz', { headers: { accept: 'text/plain' } });
      expect(health.status).toBe(200);
      expect((await sandbox.request('GET', '/api/v1/pods')).status).toBe(200);
      const metrics = (await sandbox.request('GET', '/metrics', { headers: { accept: 'text/plain' } })).body;
      expect(metrics).toMatch(/^sandbox_simulation_errors_total\{actor="[a-z-]+"\} [1-9]/m);
      // kube-state-metrics reports no condition it cannot read: general-2 drops out, the others stay.
      expect(metrics).not.toMatch(/^kube_node_status_condition\{node="general-2"/m);
      expect(metrics).toMatch(
        /^kube_node_status_condition\{node="general-1",condition="Ready",status="true"\} 1/m,
      );
      expect(metrics).toMatch(
        /^kube_pod_info\{namespace="app",pod="[^"]+",uid="[^"]+",.*created_by_kind="<none>"/m,
      );
      const lines = stderr.mock.calls
        .map(([text]) => String(text))
        .filter((t) => t.startsWith('midflight sandbox:'));
      expect(lines.length).toBeGreaterThan(0);
      expect(new Set(lines).size).toBe(lines.length);
      expect(lines.join('')).toMatch(/: [a-z-]+ failed and carried on: TypeError: /);
    } finally {
      stderr.mockRestore();
    }
  });
});
