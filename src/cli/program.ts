import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerApplyCommand } from './commands/apply.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerInventoryCommand } from './commands/inventory.ts';
import { registerPlanCommand } from './commands/plan.ts';
import { registerPreflightCommand } from './commands/preflight.ts';
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
  registerApplyCommand(program);
  registerRunCommands(program);
  return program;
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
