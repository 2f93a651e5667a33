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
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { parseDuration, parseLabelSelector, unknownPlaceholders } from '../core/index.ts';
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
};

/** Throws ProviderConfigError naming the first wrong field of `nodeProvider`. */
export function nodeProviderFromPolicy(
  settings: { kind?: unknown; [setting: string]: unknown },
  env: NodeProviderEnvironment,
): NodeGroupProvider {
  const fail = (field: string, message: string) => new ProviderConfigError(field, message, SECTION);
  const kind = String(settings.kind);
  const known = FIELDS[kind];
  if (!known) throw fail('kind', `unknown node provider "${kind}" (known: command, sandbox)`);
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
