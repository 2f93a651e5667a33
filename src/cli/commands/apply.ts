import type { KubeConfig } from '@kubernetes/client-node';
import { type Command, Option } from 'commander';
import { checkPlanIntegrity, PlanRejectedError, startRun } from '../../engine/index.ts';
import { LeaseHeldError } from '../../kube/index.ts';
import { type Plan, renderPlanTable } from '../../plan/index.ts';
import type { RunStore } from '../../store/index.ts';
import { readClusterSnapshot } from '../cluster-snapshot.ts';
import { confirm } from '../confirm.ts';
import { CliError, ExitCode, UsageError } from '../errors.ts';
import { planOptionsFor } from '../measured-history.ts';
import { parseOutputFormat } from '../output.ts';
import { loadPlanFile } from '../plan-file.ts';
import { planWithPreflight } from '../plan-with-preflight.ts';
import { metricsAddressOf } from '../run-metrics-endpoint.ts';
import {
  addExecutionOptions,
  cliErrorOf,
  finishRun,
  RUN_OUTPUT_FORMATS,
  stateOption,
  withRunSession,
} from '../run-session.ts';
import { unfinishedRunHint } from '../unfinished-runs.ts';
import { parseTargetVersion, providerProblem, readPolicyFile } from '../upgrade-inputs.ts';

export function registerApplyCommand(program: Command): void {
  const apply = program
    .command('apply')
    .description(
      'execute an upgrade plan: for each node cordon, drain through the Eviction API, upgrade through the ' +
        "policy's provider, verify, uncordon, then gate the batch; every step is recorded so a stopped run " +
        'resumes where it stopped. Exit 0: succeeded; 1: failed or aborted; 2: bad input; 3: paused; 4: incomplete (nodes left behind)',
    )
    .argument('[plan-file]', 'a plan written by `midflight plan -o yaml|json` ("-" reads standard input)')
    .option('--to <version>', 'plan and apply in one go: show the plan, ask, then execute it')
    .option('--policy <file>', 'upgrade policy YAML, with --to')
    .option('-y, --yes', 'with --to: apply without asking for confirmation', false)
    .addOption(stateOption())
    .addOption(
      new Option(
        '-o, --output <format>',
        'table (live progress, then a summary) or json (one event per line)',
      ).default('table'),
    );
  addExecutionOptions(apply)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  midflight plan --to 1.31 --policy policy.yaml -o yaml --out plan.yaml   # review it, then:\n' +
        '  midflight apply plan.yaml\n' +
        '  midflight apply --to 1.31 --policy policy.yaml          # shows the plan and asks first\n' +
        '  midflight apply plan.yaml -o json | jq -c \'select(.type=="node-changed")\'\n' +
        '\nCtrl-C pauses the run at its next safe point; `midflight resume RUN` continues it.\n',
    )
    .action(async (planFile: string | undefined, opts, cmd: Command) => {
      const output = parseOutputFormat(opts.output, RUN_OUTPUT_FORMATS);
      // Bad input is refused before the cluster is read (withRunSession checks it again, as it does for resume).
      metricsAddressOf(opts);
      if (planFile === undefined && opts.to === undefined)
        throw new UsageError(
          'apply needs a plan file (`midflight plan --to VERSION -o yaml --out plan.yaml` writes one) or ' +
            '--to VERSION to plan, review and apply in one go',
        );
      if (planFile !== undefined && opts.to !== undefined)
        throw new UsageError(
          `give a plan file or --to, not both: the plan ${planFile} already names its target version`,
        );
      if (planFile !== undefined && opts.policy)
        throw new UsageError('--policy goes with --to: a plan file already carries its policy');
      let plan: Plan;
      if (planFile !== undefined) plan = loadPlanFile(planFile);
      else {
        const planned = await planAndConfirm(cmd, opts, output);
        try {
          plan = checkPlanIntegrity(planned);
        } catch (err) {
          throw cliErrorOf(err);
        }
      }
      const problem = providerProblem(plan.policy);
      if (problem) throw new UsageError(`refusing to apply plan ${plan.id}: ${problem}`);
      await withRunSession(cmd, { ...opts, output, createStore: true }, async (session) => {
        if (output !== 'json') process.stdout.write(`State store: ${session.store.path}\n`);
        const summary = await session.execute(plan, async (deps, options) => {
          try {
            return await startRun(deps, plan, options);
          } catch (err) {
            throw await namingUnfinishedRun(session.store, plan, deps.kc, err);
          }
        });
        const code = finishRun(summary, output);
        if (code !== 0) throw new ExitCode(code);
      });
    });
}

/**
 * A refusal because the cluster moved past the plan or is held by a run, with the unfinished run of this
 * cluster that `resume` continues, if the store has one.
 */
async function namingUnfinishedRun(
  store: RunStore,
  plan: Plan,
  kc: KubeConfig,
  err: unknown,
): Promise<unknown> {
  const moved =
    err instanceof PlanRejectedError &&
    (err.rejection === 'version-passed' || err.rejection === 'target-reached');
  if (!moved && !(err instanceof LeaseHeldError)) return err;
  const hint = await unfinishedRunHint(store, plan, kc);
  if (!hint) return err;
  const refusal = cliErrorOf(err) as CliError;
  return refusal instanceof UsageError
    ? new UsageError(`${refusal.message}. ${hint}`)
    : new CliError(`${refusal.message}. ${hint}`, refusal.exitCode);
}

async function planAndConfirm(
  cmd: Command,
  opts: { to: string; policy?: string; yes: boolean; state?: string },
  output: string,
): Promise<Plan> {
  const target = parseTargetVersion(opts.to);
  const policy = readPolicyFile(opts.policy);
  const problem = providerProblem(policy);
  if (problem) throw new UsageError(`refusing to apply: ${problem}`);
  // Note: refuse before reading the cluster, so a script without --yes fails fast and changes nothing.
  if (!opts.yes && !process.stdin.isTTY)
    throw new UsageError(
      'refusing to apply without confirmation: standard input is not a terminal. Review the plan ' +
        '(`midflight plan --to VERSION`) and pass --yes, or apply a plan file',
    );
  const snapshot = await readClusterSnapshot(cmd);
  const plan = planWithPreflight(
    snapshot,
    target,
    policy,
    Date.now(),
    planOptionsFor(snapshot, { statePath: opts.state, policyPath: opts.policy }),
  );
  // With -o json stdout carries only events: the plan a person reviews goes to stderr.
  (output === 'json' ? process.stderr : process.stdout).write(`${renderPlanTable(plan)}\n`);
  await confirm(
    opts.yes,
    `Apply plan ${plan.id} to ${plan.cluster.server}?`,
    'refusing to apply without confirmation: standard input is not a terminal; pass --yes',
  );
  return plan;
}
