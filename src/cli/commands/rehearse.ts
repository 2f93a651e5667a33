import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { PlanError, planUpgrade } from '../../plan/index.ts';
import {
  compareRehearsals,
  parseCompareValues,
  rehearsalTimings,
  rehearse,
  renderComparison,
  renderReportJson,
  renderReportMarkdown,
  renderReportTable,
  timingKeysOf,
} from '../../rehearse/index.ts';
import { readClusterSnapshot } from '../cluster-snapshot.ts';
import { CliError, ExitCode, UsageError } from '../errors.ts';
import { parseOutputFormat } from '../output.ts';
import { parseTargetVersion, readPolicyFile } from '../upgrade-inputs.ts';

const REHEARSE_FORMATS = ['table', 'json', 'markdown'] as const;
const MAX_RUNS = 100;

/** Exit code when some run does not finish (a deadlock, a node that never comes back…). */
const DOES_NOT_FINISH_EXIT_CODE = 1;

export function registerRehearseCommand(program: Command): void {
  program
    .command('rehearse')
    .description(
      'rehearse the upgrade before touching the cluster: read it once (nothing is written, no Secret is read), ' +
        'copy it into an in-process sandbox on a virtual clock, and run the real planner and engine on the copy ' +
        'N times with jittered timings. Reports the predicted duration (median, p90) per phase and in total ' +
        'against the maintenance window, the budgets that hold drains back, and drains that can never finish. ' +
        'Exit 0: every run finished; 1: some did not; 2: bad usage',
    )
    .requiredOption('--to <version>', 'target Kubernetes version, e.g. v1.31.2 or 1.31 (latest known patch)')
    .option(
      '--policy <file>',
      'upgrade policy YAML (its timings, maxUnavailable, drain, windows are rehearsed)',
    )
    .option('--runs <n>', `rehearsal runs, 1 to ${MAX_RUNS}`, '5')
    .option('--seed <n>', 'seeds the jitter and the simulation: the same seed, the same report', '1')
    .option(
      '--compare <values>',
      'rehearse each way of upgrading instead, and recommend the fastest that keeps every budget: a maxUnavailable ' +
        '(e.g. 1,2,10%), surge or surge:N (new nodes first), one-at-a-time or fixed:N (the loops people run ' +
        'today, with kubectl drain)',
    )
    .addOption(new Option('-o, --output <format>', 'table, json or markdown').default('table'))
    .action(async (opts, cmd: Command) => {
      const format = parseOutputFormat(opts.output, REHEARSE_FORMATS);
      const runs = wholeNumber('--runs', opts.runs, 1, MAX_RUNS);
      const seed = wholeNumber('--seed', opts.seed, 0, 2 ** 31 - 1);
      let compare: ReturnType<typeof parseCompareValues> | undefined;
      try {
        compare = opts.compare === undefined ? undefined : parseCompareValues(opts.compare);
      } catch (err) {
        throw new UsageError(`--compare: ${(err as Error).message}`);
      }
      const target = parseTargetVersion(opts.to);
      const policy = readPolicyFile(opts.policy);
      const policyText = opts.policy ? readFileSync(opts.policy, 'utf8') : undefined;
      // IMPORTANT: the only contact with the real cluster: GET and LIST, and no Secret (no Helm release).
      const snapshot = await readClusterSnapshot(cmd, { helmReleases: false });
      try {
        planUpgrade(snapshot, target, policy);
      } catch (err) {
        if (err instanceof PlanError) throw new CliError(`cannot rehearse: ${err.message}`);
        throw err;
      }
      const progress = process.stderr.isTTY
        ? (i: number, r: { state: string; wallMs: number }) =>
            process.stderr.write(
              `rehearsal run ${i + 1}/${runs}: ${r.state} (${(r.wallMs / 1000).toFixed(1)} s)\n`,
            )
        : undefined;
      const options = {
        snapshot,
        target,
        policy,
        timings: rehearsalTimings(policy, timingKeysOf(policyText)),
        runs,
        seed,
        now: Date.now(),
        onRun: progress,
      };
      if (compare) {
        const comparison = await compareRehearsals(options, compare);
        process.stdout.write(
          format === 'json'
            ? renderReportJson(comparison)
            : renderComparison(comparison, format as 'table' | 'markdown'),
        );
        if (comparison.recommended === null) throw new ExitCode(DOES_NOT_FINISH_EXIT_CODE);
        return;
      }
      const report = await rehearse(options);
      process.stdout.write(
        format === 'json'
          ? renderReportJson(report)
          : format === 'markdown'
            ? renderReportMarkdown(report)
            : renderReportTable(report),
      );
      if (!report.outcome.finishes) throw new ExitCode(DOES_NOT_FINISH_EXIT_CODE);
    });
}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new UsageError(`${flag} "${value}" must be a whole number from ${min} to ${max}`);
  return n;
}
