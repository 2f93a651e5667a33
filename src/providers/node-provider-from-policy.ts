/**
 * Builds the provider that creates and deletes nodes from the policy's `nodeProvider` section (needed by the
 * surge and blue-green strategies); each problem names its field:
 *
 *   nodeProvider: { kind: sandbox }
 *   nodeProvider:
 *     kind: command
 *     create: ./add-nodes.sh {pool} {version} {count}
 *     delete: ./remove-node.sh {pool} {node}
 *     newNodes: { selector: "cloud.google.com/gke-nodepool={pool}" }
 *     joinTimeout: 15m
 *   nodeProvider:
 *     kind: cluster-api
 *     namespace: capi-workers
 *     machineDeployment: "prod-{pool}"        # or { general: prod-md-0, compute: prod-md-1 }
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { parseDuration, parseLabelSelector, unknownPlaceholders } from '../core/index.ts';
import { ClusterApiNodeProvider, INFRASTRUCTURE_PLACEHOLDERS } from './cluster-api-node-provider.ts';
import { CommandNodeProvider, CREATE_PLACEHOLDERS, DELETE_PLACEHOLDERS } from './command-node-provider.ts';
import type { NewNodeRule } from './new-node-rule.ts';
import type { NodeGroupProvider } from './node-group-provider.ts';
import { SandboxNodeProvider } from './sandbox-node-provider.ts';
import { ProviderConfigError } from './upgrade-provider.ts';

export interface NodeProviderEnvironment {
  kc: KubeConfig;
  /** Substituted for {kubeconfig} in commands. */
  kubeconfigPath?: string;
  cwd?: string;
}

const SECTION = 'nodeProvider';
const COMMON = ['kind', 'newNodes', 'joinTimeout'];
const FIELDS: Record<string, string[]> = {
  sandbox: COMMON,
  command: [...COMMON, 'create', 'delete', 'timeout'],
  // Note: no newNodes: a Machine's status.nodeRef names its node.
  'cluster-api': ['kind', 'joinTimeout', 'namespace', 'machineDeployment', 'infrastructureTemplate'],
};
/** A DNS-1123 label: a namespace, or a MachineDeployment name (a label value on its Machines). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Throws ProviderConfigError naming the first wrong field of `nodeProvider`. */
export function nodeProviderFromPolicy(
  settings: { kind?: unknown; [setting: string]: unknown },
  env: NodeProviderEnvironment,
): NodeGroupProvider {
  const fail = (field: string, message: string) => new ProviderConfigError(field, message, SECTION);
  const kind = String(settings.kind);
  const known = FIELDS[kind];
  if (!known)
    throw fail('kind', `unknown node provider "${kind}" (known: ${Object.keys(FIELDS).sort().join(', ')})`);
  for (const key of Object.keys(settings))
    if (!known.includes(key))
      throw fail(key, `unknown field for the ${kind} node provider (known: ${known.join(', ')})`);
  const duration = (field: string, fallback: number): number => {
    const v = settings[field];
    if (v === undefined) return fallback;
    try {
      return parseDuration(v as string);
    } catch {
      throw fail(field, 'must be a duration such as 90s or 20m');
    }
  };
  const joinTimeoutMs = duration('joinTimeout', 15 * 60_000);
  if (kind === 'cluster-api') return clusterApiProvider(settings, env, joinTimeoutMs, fail);
  const newNodes = newNodeRuleOf(settings.newNodes, fail);
  if (kind === 'sandbox') return new SandboxNodeProvider({ kc: env.kc, joinTimeoutMs, newNodes });

  const template = (field: 'create' | 'delete', placeholders: readonly string[], what: string) => {
    const text = settings[field];
    if (typeof text !== 'string' || text.trim() === '')
      throw fail(field, `is required: the command that ${what}`);
    const unknown = unknownPlaceholders(text, placeholders);
    if (unknown.length > 0)
      throw fail(
        field,
        `unknown placeholder {${unknown[0]}} (known: ${placeholders.map((p) => `{${p}}`).join(' ')}; the shell's \${VAR} passes through)`,
      );
    return text;
  };
  const create = template('create', CREATE_PLACEHOLDERS, 'creates {count} nodes of {pool} at {version}');
  const del = template('delete', DELETE_PLACEHOLDERS, 'deletes the node {node} of {pool}');
  if (!newNodes)
    throw fail(
      'newNodes',
      'is required with the command node provider: a selector and/or namePattern recognising a new node of {pool}, e.g. {selector: "cloud.google.com/gke-nodepool={pool}"}',
    );
  return new CommandNodeProvider({
    create,
    delete: del,
    newNodes,
    joinTimeoutMs,
    timeoutMs: duration('timeout', 20 * 60_000),
    kubeconfigPath: env.kubeconfigPath,
    cwd: env.cwd,
  });
}

function clusterApiProvider(
  settings: Record<string, unknown>,
  env: NodeProviderEnvironment,
  joinTimeoutMs: number,
  fail: (field: string, message: string) => ProviderConfigError,
): NodeGroupProvider {
  const namespace = settings.namespace ?? 'default';
  if (typeof namespace !== 'string' || !DNS_LABEL.test(namespace))
    throw fail('namespace', 'must be a namespace name, e.g. "default" or "capi-workers"');
  const md = settings.machineDeployment ?? '{pool}';
  const mdName = (field: string, value: unknown) => {
    if (typeof value !== 'string' || !DNS_LABEL.test(value.replaceAll('{pool}', 'pool')))
      throw fail(
        field,
        'must be a MachineDeployment name (lower-case letters, digits and "-", at most 63), where {pool} is the pool\'s name',
      );
    return value;
  };
  let machineDeployment: string | Record<string, string>;
  if (typeof md === 'object' && md !== null && !Array.isArray(md)) {
    machineDeployment = {};
    for (const [pool, name] of Object.entries(md))
      machineDeployment[pool] = mdName(`machineDeployment.${pool}`, name);
  } else machineDeployment = mdName('machineDeployment', md);
  const infra = settings.infrastructureTemplate;
  if (infra !== undefined) {
    if (typeof infra !== 'string' || infra === '')
      throw fail(
        'infrastructureTemplate',
        'must be the name of an infrastructure machine template, e.g. "{pool}-{version}"',
      );
    const unknown = unknownPlaceholders(infra, INFRASTRUCTURE_PLACEHOLDERS);
    if (unknown.length > 0)
      throw fail(
        'infrastructureTemplate',
        `unknown placeholder {${unknown[0]}} (known: ${INFRASTRUCTURE_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')})`,
      );
  }
  return new ClusterApiNodeProvider({
    kc: env.kc,
    joinTimeoutMs,
    namespace,
    machineDeployment,
    ...(infra === undefined ? {} : { infrastructureTemplate: infra as string }),
  });
}

function newNodeRuleOf(
  value: unknown,
  fail: (field: string, message: string) => ProviderConfigError,
): NewNodeRule | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw fail('newNodes', 'must be a mapping with selector and/or namePattern');
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v))
    if (key !== 'selector' && key !== 'namePattern')
      throw fail(`newNodes.${key}`, 'unknown field (known: selector, namePattern)');
  const rule: NewNodeRule = {};
  if (v.selector !== undefined) {
    if (typeof v.selector !== 'string') throw fail('newNodes.selector', 'must be a label selector string');
    try {
      parseLabelSelector(v.selector.replaceAll('{pool}', 'pool'));
    } catch (err) {
      throw fail('newNodes.selector', `is not a label selector: ${(err as Error).message}`);
    }
    rule.selector = v.selector;
  }
  if (v.namePattern !== undefined) {
    if (typeof v.namePattern !== 'string' || v.namePattern === '')
      throw fail('newNodes.namePattern', 'must be a name with * wildcards, e.g. "{pool}-*"');
    rule.namePattern = v.namePattern;
  }
  if (rule.selector === undefined && rule.namePattern === undefined)
    throw fail('newNodes', 'needs a selector or a namePattern');
  return rule;
}
