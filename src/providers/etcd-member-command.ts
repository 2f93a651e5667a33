/**
 * How one etcd member is upgraded or restarted: the policy's `etcd.upgrade` commands, one command or
 * stop → swap → start, each a template with {member} {endpoint} {version} filled and shell-quoted. The
 * engine moves leadership away before and checks the member after; the commands only do the work.
 *
 * IMPORTANT: as with every provider, the commands must be safe to run again: after a crash mid-command the
 * engine runs them again (a stop of a stopped member, a start of a started one, must succeed).
 */
import {
  ETCD_MEMBER_PLACEHOLDERS,
  ETCD_UPGRADE_STAGES,
  type EtcdUpgradeStage,
  fillTemplate,
  parseDuration,
  unknownPlaceholders,
} from '../core/index.ts';
import { runLoggedCommand } from './run-command.ts';
import { ProviderConfigError, ProviderError } from './upgrade-provider.ts';

/** What the etcd member provider is told about the member it upgrades. */
export interface EtcdMemberContext {
  member: string;
  endpoint: string;
  /** The version it moves to; '' when it is restarted as it is. */
  version: string;
  /** Fires when the run is stopping: the command is stopped. */
  signal: AbortSignal;
  /** The file the commands' output is appended to (outlives midflight, as the node provider's). */
  outputFile: string;
  log(line: string): void;
}

export interface EtcdMemberProvider {
  readonly kind: string;
  upgradeMember(ctx: EtcdMemberContext): Promise<void>;
}

/** The policy's etcd.upgrade, as the provider takes it. */
export interface EtcdUpgradeSettings {
  command?: string;
  stop?: string;
  swap?: string;
  start?: string;
  /** A duration such as 10m: the wall-clock deadline of each command. */
  timeout: string;
}

export interface EtcdMemberCommandOptions {
  /** Working directory of the commands (default: this process's). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Wall-clock ms between SIGTERM and SIGKILL when a command is stopped. Default 10 s. */
  killGraceMs?: number;
}

export class EtcdMemberCommandProvider implements EtcdMemberProvider {
  readonly kind = 'command';
  private readonly stages: Array<{ stage: EtcdUpgradeStage; template: string }>;
  private readonly timeoutMs: number;

  /** Throws ProviderConfigError naming the field (the policy's validation has said so first). */
  constructor(
    settings: EtcdUpgradeSettings,
    private readonly options: EtcdMemberCommandOptions = {},
  ) {
    this.stages = ETCD_UPGRADE_STAGES.flatMap((stage) => {
      const template = settings[stage];
      return template === undefined ? [] : [{ stage, template }];
    });
    if (this.stages.length === 0)
      throw new ProviderConfigError('upgrade', 'needs command, or stop and start', 'etcd');
    for (const { stage, template } of this.stages) {
      const unknown = unknownPlaceholders(template, ETCD_MEMBER_PLACEHOLDERS);
      if (unknown.length > 0)
        throw new ProviderConfigError(`upgrade.${stage}`, `unknown placeholder {${unknown[0]}}`, 'etcd');
    }
    try {
      this.timeoutMs = parseDuration(settings.timeout);
    } catch {
      throw new ProviderConfigError('upgrade.timeout', 'must be a duration such as 10m', 'etcd');
    }
  }

  async upgradeMember(ctx: EtcdMemberContext): Promise<void> {
    const values = { member: ctx.member, endpoint: ctx.endpoint, version: ctx.version };
    for (const { stage, template } of this.stages) {
      if (ctx.signal.aborted)
        throw new ProviderError(
          `etcd member ${ctx.member}: ${stage} not started: the run is stopping`,
          ctx.member,
        );
      const script = fillTemplate(template, values);
      ctx.log(`$ ${script}`);
      const result = await runLoggedCommand({
        script,
        cwd: this.options.cwd,
        env: this.options.env,
        timeoutMs: this.timeoutMs,
        killGraceMs: this.options.killGraceMs,
        signal: ctx.signal,
        outputFile: ctx.outputFile,
        tailLines: 40,
        log: (line) => ctx.log(line),
      });
      if (result.failure !== undefined)
        throw new ProviderError(
          `the ${stage === 'command' ? 'upgrade command' : `${stage} command`} of etcd member ${ctx.member} ${result.failure}`,
          ctx.member,
          result.tail,
          result.started,
        );
    }
  }
}
