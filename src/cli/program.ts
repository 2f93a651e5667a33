import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerApplyCommand } from './commands/apply.ts';
import { registerBackupCommands } from './commands/backup.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerInventoryCommand } from './commands/inventory.ts';
import { registerObservabilityCommands } from './commands/observability.ts';
import { registerPlanCommand } from './commands/plan.ts';
import { registerPreflightCommand } from './commands/preflight.ts';
import { registerRehearseCommand } from './commands/rehearse.ts';
import { registerRunCommands } from './commands/runs.ts';
import { registerSandboxCommands } from './commands/sandbox.ts';
import { CliError } from './errors.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export function buildProgram(): Command {
  const program = new Command('midflight')
    .description(
      'Upgrade Kubernetes clusters while they keep serving traffic: read and check the cluster, plan the ' +
        'upgrade, then drain, upgrade and verify it one controlled step at a time.',
    )
    .version(pkg.version)
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use (default: the current context)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerDemoCommand(program);
  registerSandboxCommands(program);
  registerInventoryCommand(program);
  registerPreflightCommand(program);
  registerPlanCommand(program);
  registerRehearseCommand(program);
  registerApplyCommand(program);
  registerRunCommands(program);
  registerBackupCommands(program);
  registerObservabilityCommands(program);
  checkRequiredOptionsLast(program);
  return program;
}

/**
 * Commander checks that required options are given before it looks for unknown ones, so `plan --too 1.31`
 * said only that --to was missing. Checked just before the action instead, after the unknown-option check,
 * a misspelt flag is named first (with commander's "Did you mean --to?").
 */
function checkRequiredOptionsLast(cmd: Command): void {
  const required = cmd.options.filter((option) => option.mandatory);
  for (const option of required) option.makeOptionMandatory(false);
  if (required.length > 0)
    cmd.hook('preAction', (self) => {
      const missing = required.find((option) => self.getOptionValue(option.attributeName()) === undefined);
      if (missing)
        self.error(`error: required option '${missing.flags}' not specified`, {
          code: 'commander.missingMandatoryOptionValue',
        });
    });
  for (const sub of cmd.commands) checkRequiredOptionsLast(sub);
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version end here with exit code 0; usage mistakes were already printed by commander.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CliError) {
      if (err.message) process.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.MIDFLIGHT_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return 1;
  }
}
