/**
 * The commands that act on recorded runs: history, status, pause, resume, abort, rollback. They read the
 * state store (--state); those that change the cluster also take the cluster's Lease, as apply does.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { type Command, Option } from 'commander';
import { listBackups, resolveBackupDir, restoreRunbook } from '../../backup/index.ts';
import {
  planRollback,
  type RollbackPlan,
  requestAbort,
  requestPause,
  resumeRun,
  rollbackRun,
  summarizeRun,
} from '../../engine/index.ts';
import { type ClusterTarget, loadKubeConfig } from '../../kube/index.ts';
import type { Plan } from '../../plan/index.ts';
import { etcdBackupsDir, type RunRecord, type RunStore } from '../../store/index.ts';
import { confirm } from '../confirm.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { OUTPUT_FORMATS, parseOutputFormat, renderData } from '../output.ts';
import { gateStatuses, inFlightNodes, type RunStatus, renderHistory, renderStatus } from '../render-run.ts';
import { holderGone } from '../run-holder.ts';
import {
  addExecutionOptions,
  cliErrorOf,
  executionSettings,
  finishRun,
  openStore,
  RUN_OUTPUT_FORMATS,
  stateOption,
  stateStoreFile,
  withRunSession,
} from '../run-session.ts';

function outputOption(formats: readonly string[]): Option {
  return new Option('-o, --output <format>', formats.join(', ')).default('table');
}

/** Opens the store, runs `fn`, closes it; engine refusals become one line. */
async function withStore<T>(path: string | undefined, fn: (store: RunStore) => Promise<T> | T): Promise<T> {
  const store = openStore(path);
  try {
    return await fn(store);
  } catch (err) {
    throw cliErrorOf(err);
  } finally {
    store.close();
  }
}

/** The named run, or the newest one in the store. */
function runOf(store: RunStore, runId: string | undefined): RunRecord {
  if (runId) return store.mustGetRun(runId);
  const [latest] = store.listRuns({ limit: 1 });
  if (!latest)
    throw new UsageError(`no runs in the state store ${store.path} yet (start one with \`midflight apply\`)`);
  return latest;
}

export async function statusOf(
  store: RunStore,
  run: RunRecord,
  kc: KubeConfig | undefined,
): Promise<RunStatus> {
  // Note: a run's times are in the clock it ran on (a sandbox's scaled time, say): a stopped run's length is
  // measured between its own records, a running one's up to the cluster's now, never against our wall clock.
  const now = run.state === 'running' ? await clusterNow(kc) : undefined;
  return {
    ...summarizeRun(store, run.id, now),
    holder: run.holder,
    holderGone: await holderGone(run, kc),
    inFlight: inFlightNodes(store, run.id),
    gates: gateStatuses(store, run.id),
  };
}

/** Now in the clock runs on this cluster keep (a sandbox's own, see executionSettings); wall time without one. */
async function clusterNow(kc: KubeConfig | undefined): Promise<number> {
  if (!kc) return Date.now();
  return (await executionSettings({ leaseDuration: 30 }, kc)).clock.now();
}

/** The cluster, when the command line or the environment names one; status works from the store without it. */
function optionalCluster(cmd: Command): KubeConfig | undefined {
  try {
    return loadKubeConfig(cmd.optsWithGlobals() as ClusterTarget);
  } catch {
    return undefined;
  }
}

export function registerRunCommands(program: Command): void {
  program
    .command('history')
    .description('list the runs in the state store, newest first')
    .option(
      '--limit <n>',
      'at most this many runs',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--limit ${v}: expected a positive integer`);
        return n;
      },
      20,
    )
    .addOption(stateOption())
    .addOption(outputOption(OUTPUT_FORMATS))
    .action(async (opts) => {
      const format = parseOutputFormat(opts.output);
      const { file, exists } = stateStoreFile(opts.state);
      if (!exists) {
        // No store yet is no runs yet (scripts get their empty list), and no store is created to say so.
        process.stderr.write(
          `no state store at ${file} yet: \`midflight apply\` creates it with its first run\n`,
        );
        process.stdout.write(format === 'table' ? renderHistory([]) : renderData([], format as 'json'));
        return;
      }
      await withStore(opts.state, (store) => {
        const runs = store.listRuns({ limit: opts.limit });
        const rows = runs.map(({ planJson: _plan, ...rest }) => rest);
        process.stdout.write(format === 'table' ? renderHistory(runs) : renderData(rows, format as 'json'));
      });
    });

  program
    .command('status')
    .description(
      'show a run: its state and reason, each phase, the nodes upgraded, skipped or failed, what is in ' +
        'flight now with the pods and disruption budgets blocking its drains, and the latest evaluation of ' +
        'each health gate (value, baseline, verdict, time)',
    )
    .argument('[run]', 'run id (default: the newest run)')
    .addOption(stateOption())
    .addOption(outputOption(OUTPUT_FORMATS))
    .action(async (runId: string | undefined, opts, cmd: Command) => {
      const format = parseOutputFormat(opts.output);
      await withStore(opts.state, async (store) => {
        const status = await statusOf(store, runOf(store, runId), optionalCluster(cmd));
        process.stdout.write(
          format === 'table' ? renderStatus(status) : renderData(status, format as 'json'),
        );
      });
    });

  program
    .command('pause')
    .description(
      'ask a running run to pause: it lets the nodes in flight finish, admits no more nodes and ' +
        'stays resumable',
    )
    .argument('<run>', 'run id')
    .addOption(stateOption())
    .addOption(outputOption(OUTPUT_FORMATS))
    .action(async (runId: string, opts) => {
      parseOutputFormat(opts.output);
      await withStore(opts.state, (store) => {
        const run = requestPause(store, runId);
        report(opts.output, run, `pause requested: ${runId} stops after the nodes in flight finish`);
      });
    });

  const abort = program
    .command('abort')
    .description(
      'stop a run for good: the nodes in flight finish their current sub-step, and every node the run ' +
        'cordoned is uncordoned (unless --keep-cordoned); a paused or failed run is aborted at once',
    )
    .argument('<run>', 'run id')
    .option('--keep-cordoned', 'leave the nodes the run cordoned cordoned, to inspect them', false)
    .addOption(stateOption())
    .addOption(outputOption(RUN_OUTPUT_FORMATS));
  addExecutionOptions(abort).action(async (runId: string, opts, cmd: Command) => {
    parseOutputFormat(opts.output, RUN_OUTPUT_FORMATS);
    await withRunSession(cmd, opts, async (session) => {
      const run = session.store.mustGetRun(runId);
      requestAbort(session.store, runId, { keepCordoned: opts.keepCordoned });
      if (run.state === 'running') {
        report(
          opts.output,
          session.store.mustGetRun(runId),
          `abort requested: ${runId} stops at its next safe point (held by ${run.holder ?? 'unknown'}); ` +
            `if that process is gone, \`midflight resume ${runId}\` completes the abort`,
        );
        return;
      }
      // Nothing executes it: carry out the abort here (uncordon what it cordoned), under the Lease.
      const summary = await session.execute(
        planOf(run),
        (deps, options) => resumeRun(deps, runId, options),
        run.mode === 'rollback',
      );
      const code = finishRun(summary, opts.output);
      if (summary.state !== 'aborted') throw new ExitCode(code);
    });
  });

  const resume = program
    .command('resume')
    .description(
      'continue a paused, failed, incomplete or interrupted run from where it stopped, in its mode: a ' +
        'stopped rollback goes on rolling back',
    )
    .argument('<run>', 'run id')
    .addOption(stateOption())
    .addOption(outputOption(RUN_OUTPUT_FORMATS));
  addExecutionOptions(resume).action(async (runId: string, opts, cmd: Command) => {
    parseOutputFormat(opts.output, RUN_OUTPUT_FORMATS);
    await withRunSession(cmd, opts, async (session) => {
      const run = session.store.mustGetRun(runId);
      const summary = await session.execute(
        planOf(run),
        (deps, options) => resumeRun(deps, runId, options),
        run.mode === 'rollback',
      );
      const code = finishRun(summary, opts.output);
      if (code !== 0) throw new ExitCode(code);
    });
  });

  const rollback = program
    .command('rollback')
    .description(
      "return the worker nodes a run upgraded to their previous version, newest first, through the run's " +
        'provider (cordon, drain, downgrade, verify, uncordon). A control-plane minor version cannot be ' +
        'rolled back in place: the way back is restoring the etcd snapshot the run took, and rollback prints its runbook. The rollback ' +
        'is paused, aborted and resumed like a run (pause, abort, Ctrl-C, resume)',
    )
    .argument('<run>', 'run id')
    .option('--dry-run', 'only say what would be rolled back', false)
    .option('-y, --yes', 'do not ask for confirmation', false)
    .addOption(stateOption())
    .addOption(outputOption(RUN_OUTPUT_FORMATS));
  addExecutionOptions(rollback).action(async (runId: string, opts, cmd: Command) => {
    parseOutputFormat(opts.output, RUN_OUTPUT_FORMATS);
    await withRunSession(cmd, opts, async (session) => {
      // Note: `rollback` returns every worker the run upgraded, even after a health gate rolled back one wave.
      const target = planRollback({ store: session.store }, runId, { steps: 'all' });
      const say = opts.output === 'json' ? process.stderr : process.stdout;
      const count = target.nodes.length + target.blueGreen.length;
      say.write(
        count === 0
          ? `Run ${runId} upgraded no worker node: there is nothing to roll back.\n`
          : `Rollback of ${runId}, in this order:\n${[
              ...target.blueGreen.map(
                (p) =>
                  `  ${p.blue} (${p.pool}, blue) back in service; ${p.green} (green) drained and deleted`,
              ),
              ...target.nodes.map((n) => `  ${n.node} (${n.pool}) → ${n.version}`),
            ].join('\n')}\n`,
      );
      for (const n of target.notRollbackable) say.write(`Not rolled back: ${n.node}: ${n.reason}\n`);
      const runbook = controlPlaneRunbook(session.store, runId, target);
      if (runbook.length > 0) say.write(`\n${runbook.join('\n')}\n\n`);
      if (opts.dryRun || count === 0) return;
      await confirm(
        opts.yes,
        `Roll back ${count} node(s)?`,
        'refusing to roll back without confirmation: standard input is not a terminal; pass --yes',
      );
      const run = session.store.mustGetRun(runId);
      const summary = await session.execute(
        planOf(run),
        (deps, options) => rollbackRun(deps, runId, options),
        true,
      );
      const code = finishRun(summary, opts.output);
      if (code !== 0) throw new ExitCode(code);
    });
  });
}

/**
 * When the run moved the control plane: the way back that exists, the restore of the snapshot the run took
 * before (found by its run id among the snapshots of the run's backup directory), as a runbook.
 */
function controlPlaneRunbook(store: RunStore, runId: string, target: RollbackPlan): string[] {
  const members = target.notRollbackable.filter((n) => n.wasVersion !== undefined);
  if (members.length === 0) return [];
  const plan = planOf(store.mustGetRun(runId));
  const policy = plan.policy.etcdBackup;
  const backupDir = policy.dir ? resolveBackupDir(policy.dir) : etcdBackupsDir(store.path);
  const backup = listBackups(backupDir).find((b) => b.metadata?.runId === runId);
  const hook = typeof plan.policy.hooks.backup === 'string' ? plan.policy.hooks.backup : undefined;
  return restoreRunbook({
    runId,
    from: members[0]!.wasVersion!,
    to: plan.target,
    members: members.map((m) => m.node),
    backupDir,
    ...(backup ? { backup } : {}),
    ...(hook ? { hook } : {}),
  });
}

/** The plan a run executes, as it was recorded. */
const planOf = (run: RunRecord) => JSON.parse(run.planJson) as Plan;

function report(output: string, run: RunRecord, message: string): void {
  if (output === 'table') process.stdout.write(`${message}\n`);
  else {
    const { planJson: _plan, ...rest } = run;
    process.stdout.write(renderData(rest, output as 'json' | 'yaml'));
  }
}
