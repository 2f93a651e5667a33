import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import {
  PlanError,
  planUpgrade,
  renderPlanJson,
  renderPlanTable,
  renderPlanYaml,
  renderRunbook,
} from '../../plan/index.ts';
import { readClusterSnapshot } from '../cluster-snapshot.ts';
import { CliError } from '../errors.ts';
import { parseOutputFormat } from '../output.ts';
import { parseTargetVersion, providerProblem, readPolicyFile } from '../upgrade-inputs.ts';

const PLAN_FORMATS = ['table', 'yaml', 'json', 'markdown'] as const;

export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description(
      'plan the upgrade: phases (preflight, etcd backup, control plane, canary, node pools, add-ons, validation), ' +
        'batches of nodes that respect maxUnavailable, capacity and every PodDisruptionBudget, with the reason ' +
        'for each batch and an estimated duration',
    )
    .requiredOption('--to <version>', 'target Kubernetes version, e.g. v1.31.2 or 1.31 (latest known patch)')
    .option('--policy <file>', 'upgrade policy YAML (pools, canary, maxUnavailable, drain, timings)')
    .addOption(
      new Option(
        '-o, --output <format>',
        'table, yaml or json (the plan file), or markdown (a runbook)',
      ).default('table'),
    )
    .option('--out <file>', 'write the plan to this file instead of stdout')
    .action(async (opts, cmd: Command) => {
      const format = parseOutputFormat(opts.output, PLAN_FORMATS);
      const target = parseTargetVersion(opts.to);
      const policy = readPolicyFile(opts.policy);
      // Without a policy file there is no provider yet, and no reason to nag: `apply` says what is missing.
      const problem = opts.policy ? providerProblem(policy) : undefined;
      if (problem)
        process.stderr.write(
          `warning: \`apply\` will refuse this plan until the policy's provider is fixed: ${problem}\n`,
        );
      const snapshot = await readClusterSnapshot(cmd);
      let text: string;
      try {
        const plan = planUpgrade(snapshot, target, policy);
        text =
          format === 'yaml'
            ? renderPlanYaml(plan)
            : format === 'json'
              ? renderPlanJson(plan)
              : format === 'markdown'
                ? renderRunbook(plan)
                : renderPlanTable(plan);
      } catch (err) {
        if (err instanceof PlanError) throw new CliError(`cannot plan this upgrade: ${err.message}`);
        throw err;
      }
      if (opts.out) {
        try {
          writeFileSync(opts.out, text);
        } catch (err) {
          throw new CliError(`cannot write ${opts.out}: ${(err as NodeJS.ErrnoException).code ?? err}`);
        }
        process.stderr.write(`plan written to ${opts.out}\n`);
      } else {
        process.stdout.write(text);
      }
    });
}
