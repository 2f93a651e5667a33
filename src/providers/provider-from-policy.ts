/**
 * Builds the provider a policy names. `policy.provider` is free-form in the policy file; its settings are
 * checked here, each problem naming its field:
 *
 *   provider: { kind: command, command: "ssh {node} sudo kubeadm upgrade node", timeout: 20m, retries: 1 }
 *   provider: { kind: job, image: registry/upgrader:1, command: ["/upgrade.sh"], namespace: kube-system }
 *   provider: { kind: command, command: "replace-node {node} {version}", skipsMinors: true }
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { type Clock, parseDuration } from '../core/index.ts';
import { CommandProvider, PLACEHOLDERS, unknownPlaceholders } from './command-provider.ts';
import { JobProvider } from './job-provider.ts';
import { ProviderConfigError, type UpgradeProvider } from './upgrade-provider.ts';

export interface ProviderSettings {
  provider: UpgradeProvider;
  /** Further attempts after a failed upgrade of the same node (default 0: fail at once). */
  retries: number;
  /** Clock ms between attempts (default 30 s). */
  retryDelayMs: number;
}

export interface ProviderEnvironment {
  kc: KubeConfig;
  clock: Clock;
  /** Path substituted for {kubeconfig} in commands. */
  kubeconfigPath?: string;
  /** Working directory of commands (default: this process's). */
  cwd?: string;
}

const COMMON = ['kind', 'timeout', 'retries', 'retryDelay', 'skipsMinors'];
const FIELDS: Record<string, string[]> = {
  command: [...COMMON, 'command'],
  job: [...COMMON, 'image', 'command', 'namespace', 'serviceAccountName', 'privileged'],
};

/** Throws ProviderConfigError naming the first wrong field. */
export function providerFromPolicy(
  settings: { kind: string; [setting: string]: unknown },
  env: ProviderEnvironment,
): ProviderSettings {
  const known = FIELDS[settings.kind];
  if (!known)
    throw new ProviderConfigError('kind', `unknown provider "${settings.kind}" (known: command, job)`);
  for (const key of Object.keys(settings))
    if (!known.includes(key))
      throw new ProviderConfigError(
        key,
        `unknown field for the ${settings.kind} provider (known: ${known.join(', ')})`,
      );
  const duration = (field: string, fallback: number): number => {
    const v = settings[field];
    if (v === undefined) return fallback;
    try {
      return parseDuration(v as string);
    } catch {
      throw new ProviderConfigError(field, 'must be a duration such as 90s or 20m');
    }
  };
  const retries = settings.retries ?? 0;
  if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0)
    throw new ProviderConfigError('retries', 'must be a non-negative integer');
  const skipsMinors = settings.skipsMinors ?? false;
  if (typeof skipsMinors !== 'boolean')
    throw new ProviderConfigError(
      'skipsMinors',
      'must be true or false (true only when the provider replaces nodes, e.g. from an image)',
    );
  const timeoutMs = duration('timeout', 30 * 60_000);
  const retryDelayMs = duration('retryDelay', 30_000);

  if (settings.kind === 'command') {
    if (typeof settings.command !== 'string' || settings.command.trim() === '')
      throw new ProviderConfigError('command', 'is required: the command that upgrades {node} to {version}');
    const unknown = unknownPlaceholders(settings.command);
    if (unknown.length > 0)
      throw new ProviderConfigError(
        'command',
        `unknown placeholder {${unknown[0]}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}; the shell's \${VAR} passes through)`,
      );
    return {
      provider: new CommandProvider({
        command: settings.command,
        timeoutMs,
        kubeconfigPath: env.kubeconfigPath,
        cwd: env.cwd,
        skipsMinors,
      }),
      retries,
      retryDelayMs,
    };
  }
  if (typeof settings.image !== 'string' || settings.image === '')
    throw new ProviderConfigError('image', 'is required: the image whose command upgrades the node');
  const command = settings.command;
  let argv: string[];
  if (typeof command === 'string' && command !== '') argv = ['/bin/sh', '-c', command];
  else if (Array.isArray(command) && command.length > 0 && command.every((c) => typeof c === 'string'))
    argv = command as string[];
  else throw new ProviderConfigError('command', 'is required: a script string or an argv list');
  for (const f of ['namespace', 'serviceAccountName'])
    if (settings[f] !== undefined && typeof settings[f] !== 'string')
      throw new ProviderConfigError(f, 'must be a string');
  if (settings.privileged !== undefined && typeof settings.privileged !== 'boolean')
    throw new ProviderConfigError('privileged', 'must be true or false');
  return {
    provider: new JobProvider({
      kc: env.kc,
      clock: env.clock,
      image: settings.image,
      command: argv,
      namespace: settings.namespace as string | undefined,
      serviceAccountName: settings.serviceAccountName as string | undefined,
      privileged: settings.privileged as boolean | undefined,
      timeoutMs,
      skipsMinors,
    }),
    retries,
    retryDelayMs,
  };
}
