import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import {
  blockedSummary,
  renderPlanJson,
  renderPlanTable,
  renderPlanYaml,
  renderRunbook,
} from '../../plan/index.ts';
import { readClusterSnapshot } from '../cluster-snapshot.ts';
import { CliError, ExitCode } from '../errors.ts';
import { planOptionsFor } from '../measured-history.ts';
import { parseOutputFormat } from '../output.ts';
import { planWithPreflight } from '../plan-with-preflight.ts';
import { parseTargetVersion, providerProblem, readPolicyFile } from '../upgrade-inputs.ts';

const PLAN_FORMATS = ['table', 'yaml', 'json', 'markdown'] as const;

/** Preflight's exit code for blockers: the plan is written, for review, but cannot be applied yet. */
const BLOCKED_EXIT_CODE = 1;

export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description(
      'plan the upgrade: phases (preflight, etcd backup, control plane, canary, node pools, add-ons, validation), ' +
        'batches of nodes that respect maxUnavailable, capacity and every PodDisruptionBudget, with the reason ' +
        'for each batch and an estimated duration. Preflight blockers are listed at the top of the plan. ' +
        'Exit 0: planned; 1: planned, but preflight found blockers (or no plan is possible); 2: bad usage',
    )
    .requiredOption('--to <version>', 'target Kubernetes version, e.g. v1.31.2 or 1.31 (latest known patch)')
    .option(
      '--policy <file>',
      'upgrade policy YAML (provider, pools, canary, maxUnavailable, drain, timings)',
    )
    .addOption(
      new Option(
        '-o, --output <format>',
        'table, yaml or json (the plan file), or markdown (a runbook)',
      ).default('table'),
    )
    .option('--out <file>', 'write the plan to this file instead of stdout')
    .addOption(
      new Option(
        '--state <file>',
        'run state store whose earlier runs on this cluster give measured node timings',
      ).default(undefined, '~/.midflight/state.db'),
    )
    .action(async (opts, cmd: Command) => {
      const format = parseOutputFormat(opts.output, PLAN_FORMATS);
      const target = parseTargetVersion(opts.to);
      const policy = readPolicyFile(opts.policy);
      const snapshot = await readClusterSnapshot(cmd);
      // Said before the plan is written, and once the cluster could be read (a failure there comes alone).
      const problem = providerProblem(policy);
      if (problem) process.stderr.write(`warning: \`apply\` will refuse this plan: ${problem}\n`);
      const plan = planWithPreflight(
        snapshot,
        target,
        policy,
        Date.now(),
        planOptionsFor(snapshot, { statePath: opts.state, policyPath: opts.policy }),
      );
      const text =
        format === 'yaml'
          ? renderPlanYaml(plan)
          : format === 'json'
            ? renderPlanJson(plan)
            : format === 'markdown'
              ? renderRunbook(plan)
              : renderPlanTable(plan);
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
      if (plan.blockers?.length) {
        process.stderr.write(`blocked: ${blockedSummary(plan.blockers ?? [])}; they are listed at its top\n`);
        throw new ExitCode(BLOCKED_EXIT_CODE);
      }
    });
}
