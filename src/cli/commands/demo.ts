import type { Command } from 'commander';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('start the demo sandbox cluster and walk through an upgrade of it')
    .option('--keep', 'leave the sandbox running at the end, to explore it with kubectl', false)
    .action(async () => {
      process.stdout.write('demo: not wired yet\n');
    });
}
