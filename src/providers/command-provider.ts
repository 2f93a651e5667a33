/**
 * The `command` provider: runs a templated shell command per node, e.g.
 * `ssh {node} sudo kubeadm upgrade node && …`, a cloud CLI, or `midflight sandbox upgrade-node {node} --to
 * {version}` in the demo. Placeholders are shell-quoted; exit 0 is success, anything else a failure
 * carrying the output's last lines.
 */
import { spawn } from 'node:child_process';
import { OutputTail, ProviderError, type UpgradeContext, type UpgradeProvider } from './upgrade-provider.ts';

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
  /** Lines of output kept for the failure message. Default 40. */
  tailLines?: number;
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

/** POSIX single-quoting: safe for any value, including spaces and quotes. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** `{name}`, but not the shell's `${NAME}`: environment variables pass through to the shell untouched. */
const PLACEHOLDER = /(?<!\$)\{([A-Za-z]+)\}/g;

/** The placeholders of `template` that midflight does not know (a typo would run a broken command). */
export function unknownPlaceholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)]
    .map((m) => m[1]!)
    .filter((name) => !(PLACEHOLDERS as readonly string[]).includes(name));
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
  return template.replace(PLACEHOLDER, (_, name: string) => shellQuote(values[name] ?? ''));
}

export class CommandProvider implements UpgradeProvider {
  readonly kind = 'command';
  constructor(private readonly options: CommandProviderOptions) {}

  upgradeNode(ctx: UpgradeContext): Promise<void> {
    const command = renderCommand(this.options.command, {
      node: ctx.node,
      version: ctx.version,
      previousVersion: ctx.previousVersion,
      pool: ctx.pool,
      role: ctx.role,
      runId: ctx.runId,
      kubeconfig: this.options.kubeconfigPath ?? '',
    });
    const timeoutMs = this.options.timeoutMs ?? 30 * 60_000;
    const tail = new OutputTail(this.options.tailLines ?? 40);
    ctx.log(`$ ${command}`);
    return new Promise<void>((resolve, reject) => {
      if (ctx.signal.aborted) {
        reject(new ProviderError(`upgrade of ${ctx.node} not started: the run is stopping`, ctx.node));
        return;
      }
      // Note: detached puts the shell in its own process group, so a timeout kills ssh and its children too.
      const child = spawn('/bin/sh', ['-c', command], {
        env: this.options.env ?? process.env,
        cwd: this.options.cwd,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let killedFor: string | undefined;
      const kill = (why: string) => {
        killedFor ??= why;
        try {
          if (child.pid) process.kill(-child.pid, 'SIGTERM');
        } catch {
          child.kill('SIGTERM');
        }
      };
      // IMPORTANT: wall-clock timer on purpose: the command runs in real time whatever the run's clock does.
      const timer =
        timeoutMs > 0 ? setTimeout(() => kill(`timed out after ${timeoutMs / 1000}s`), timeoutMs) : undefined;
      const onAbort = () => kill('the run is stopping');
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      const lineReader = (prefix: string) => {
        let partial = '';
        return (chunk: Buffer) => {
          const text = partial + chunk.toString('utf8');
          const lines = text.split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) emit(prefix + line);
        };
      };
      const emit = (line: string) => {
        if (line.trim() === '') return;
        tail.push(line);
        ctx.log(line);
      };
      child.stdout.on('data', lineReader(''));
      child.stderr.on('data', lineReader(''));
      child.on('error', (err) => {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        reject(
          new ProviderError(
            `cannot run the provider command for ${ctx.node}: ${err.message}`,
            ctx.node,
            [],
            false,
          ),
        );
      });
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        if (code === 0 && !killedFor) {
          resolve();
          return;
        }
        const why = killedFor ?? (code !== null ? `exited with status ${code}` : `was killed by ${sig}`);
        const lines = tail.get();
        const last = lines.slice(-3).join(' | ');
        reject(
          new ProviderError(
            `upgrade command for ${ctx.node} ${why}${last ? `: ${last}` : ''}`,
            ctx.node,
            lines,
          ),
        );
      });
    });
  }
}
