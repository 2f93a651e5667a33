/**
 * The `command` provider: runs a templated shell command per node, e.g.
 * `ssh {node} sudo kubeadm upgrade node && …`, a cloud CLI, or `midflight sandbox upgrade-node {node} --to
 * {version}` in the demo. Placeholders are shell-quoted; exit 0 is success, anything else a failure
 * carrying the output's last lines.
 */
import { fillTemplate, shellQuote, unknownPlaceholders as unknownPlaceholdersOf } from '../core/index.ts';
import { runLoggedCommand } from './run-command.ts';
import { ProviderError, type UpgradeContext, type UpgradeProvider } from './upgrade-provider.ts';

export interface CommandProviderOptions {
  /** Template with {node} {version} {previousVersion} {pool} {role} {runId} {kubeconfig}. */
  command: string;
  /** Wall-clock deadline for one upgrade; 0 = none. Default 30 minutes. */
  timeoutMs?: number;
  /** Substituted for {kubeconfig}. */
  kubeconfigPath?: string;
  /** Environment for the command (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Working directory (default: this process's). */
  cwd?: string;
  /** Wall-clock ms between SIGTERM and SIGKILL when the command is stopped. Default 10 s. */
  killGraceMs?: number;
  /** Lines of output kept for the failure message. Default 40. */
  tailLines?: number;
  /** The command replaces the node rather than upgrading it in place (see UpgradeProvider.skipsMinors). */
  skipsMinors?: boolean;
}

export const PLACEHOLDERS = [
  'node',
  'version',
  'previousVersion',
  'pool',
  'role',
  'runId',
  'kubeconfig',
] as const;

export { shellQuote };

/** The placeholders of `template` that midflight does not know (a typo would run a broken command). */
export function unknownPlaceholders(template: string): string[] {
  return unknownPlaceholdersOf(template, PLACEHOLDERS);
}

/** Fills the template; an unknown placeholder is an error. */
export function renderCommand(template: string, values: Record<string, string>): string {
  const unknown = unknownPlaceholders(template);
  if (unknown.length > 0)
    throw new ProviderError(
      `unknown placeholder {${unknown[0]}} in the provider command (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')})`,
      values.node ?? '',
      [],
      false,
    );
  return fillTemplate(template, values);
}

export class CommandProvider implements UpgradeProvider {
  readonly kind = 'command';
  readonly skipsMinors: boolean;
  constructor(private readonly options: CommandProviderOptions) {
    this.skipsMinors = options.skipsMinors ?? false;
  }

  async upgradeNode(ctx: UpgradeContext): Promise<void> {
    const command = renderCommand(this.options.command, {
      node: ctx.node,
      version: ctx.version,
      previousVersion: ctx.previousVersion,
      pool: ctx.pool,
      role: ctx.role,
      runId: ctx.runId,
      kubeconfig: this.options.kubeconfigPath ?? '',
    });
    ctx.log(`$ ${command}`);
    if (ctx.signal.aborted)
      throw new ProviderError(`upgrade of ${ctx.node} not started: the run is stopping`, ctx.node);
    const result = await runLoggedCommand({
      script: command,
      env: this.options.env,
      cwd: this.options.cwd,
      timeoutMs: this.options.timeoutMs ?? 30 * 60_000,
      killGraceMs: this.options.killGraceMs,
      signal: ctx.signal,
      outputFile: ctx.outputFile,
      tailLines: this.options.tailLines ?? 40,
      log: (line) => ctx.log(line),
    });
    if (result.failure === undefined) return;
    throw new ProviderError(
      `upgrade command for ${ctx.node} ${result.failure}`,
      ctx.node,
      result.tail,
      result.started,
    );
  }
}
