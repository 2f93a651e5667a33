/**
 * What `apply`, `resume`, `rollback` and `demo` share: the cluster and state store from the command line,
 * the provider the plan's policy names, a view of the run while it executes, Ctrl-C handling, and the
 * mapping of every way a run can end to one line and an exit code.
 *
 * Exit codes of a run: 0 succeeded (or rolled back), 1 failed, aborted or rolled back by a health gate,
 * 3 paused (resumable), 4 incomplete (nodes left behind; `resume` retries them).
 */
import { existsSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { type Command, Option } from 'commander';
import { type Clock, mayRetry, RealClock, ScaledClock } from '../core/index.ts';
import {
  type EngineDeps,
  ExclusionRefusedError,
  type GateMonitorFactory,
  PlanRejectedError,
  type RunOptions,
  RunStateError,
  type RunSummary,
} from '../engine/index.ts';
import { createGateMonitor } from '../gates/index.ts';
import {
  type ClusterTarget,
  classifyFailure,
  KubeconfigError,
  KubeError,
  LeaseHeldError,
  loadKubeConfig,
  requestRaw,
} from '../kube/index.ts';
import type { Plan } from '../plan/index.ts';
import {
  type NodeGroupProvider,
  nodeProviderFromPolicy,
  ProviderConfigError,
  type ProviderSettings,
  providerFromPolicy,
} from '../providers/index.ts';
import { defaultStatePath, RunNotFoundError, RunStore, StoreError } from '../store/index.ts';
import type { MetricsAddress } from '../telemetry/index.ts';
import { CliError, UsageError } from './errors.ts';
import { type KubeconfigCopy, writeKubeconfigCopy } from './kubeconfig-copy.ts';
import { parsePositiveNumber } from './parse.ts';
import { renderSummary } from './render-run.ts';
import {
  addMetricsOptions,
  type MetricsFlags,
  metricsAddressOf,
  type RunMetricsEndpoint,
  serveRunMetrics,
} from './run-metrics-endpoint.ts';
import { createRunView, type ViewMode } from './run-view.ts';

export const RUN_OUTPUT_FORMATS = ['table', 'json'] as const;

export function stateOption(): Option {
  return new Option('--state <file>', 'run state store, a SQLite file').default(
    undefined,
    '~/.midflight/state.db',
  );
}

/** The options every command that executes a run takes besides --state and -o. */
export function addExecutionOptions(cmd: Command): Command {
  return addMetricsOptions(cmd)
    .option(
      '--lease-duration <seconds>',
      "how long the cluster's run lease lasts unless renewed: a crashed run's lease is taken over after this",
      parsePositiveNumber,
      30,
    )
    .addOption(
      // Deprecated: a sandbox's clock is detected without it. Still accepted (and then required to be found),
      // so scripts written for it keep working.
      new Option('--sandbox-clock', "insist on keeping the sandbox cluster's clock")
        .default(false)
        .hideHelp(),
    );
}

export interface ExecutionSettings {
  clock: Clock;
  leaseDurationSeconds: number;
  pollIntervalMs?: number;
}

/** A sandbox's clock as `GET /sandbox/v1/clock` gives it (docs/sandbox-admin-api.md). */
interface AdvertisedClock {
  nowMs: number;
  scale: number | 'virtual';
}

/**
 * The clock a run keeps. A sandbox cluster advertises its own (scaled) time, and the run keeps that, read
 * once so that every process of the run agrees on it: soaks, timeouts, the Lease's times and the recorded
 * ones then all pass at the sandbox's speed. Any other cluster (it answers 404, or nothing) gets wall time.
 * With --sandbox-clock (deprecated) a cluster without a followable clock is an error, as it always was.
 */
export async function executionSettings(
  opts: { leaseDuration: number; sandboxClock?: boolean },
  kc: KubeConfig,
): Promise<ExecutionSettings> {
  const wallTime = { clock: new RealClock(), leaseDurationSeconds: opts.leaseDuration };
  let advertised: AdvertisedClock | undefined;
  try {
    advertised = await sandboxClockOf(kc);
  } catch (err) {
    // Unreachable: the run's own first request reports that, with the kubeconfig's context.
    if (opts.sandboxClock)
      throw new CliError(`--sandbox-clock: cannot reach the sandbox: ${(err as Error).message}`);
    return wallTime;
  }
  if (typeof advertised?.scale !== 'number') {
    if (opts.sandboxClock)
      throw new UsageError(
        '--sandbox-clock: the cluster is not a sandbox with a real or scaled clock (a virtual clock only moves when told to)',
      );
    return wallTime;
  }
  const { scale, nowMs } = advertised;
  return {
    clock: new ScaledClock(scale, nowMs),
    leaseDurationSeconds: opts.leaseDuration * scale,
    // Note: polls stay a quarter second of wall time apart or more, however fast the sandbox's time runs.
    pollIntervalMs: Math.max(2_000, 250 * scale),
  };
}

/** The clock the cluster advertises, if it is a sandbox; undefined for any other cluster. */
async function sandboxClockOf(kc: KubeConfig): Promise<AdvertisedClock | undefined> {
  const res = await requestRaw(kc, 'GET', '/sandbox/v1/clock', { timeoutMs: 10_000 });
  if (res.status !== 200) return undefined;
  try {
    const clock = JSON.parse(res.body) as Partial<AdvertisedClock>;
    if (typeof clock.nowMs !== 'number' || !(clock.scale === 'virtual' || typeof clock.scale === 'number'))
      return undefined;
    return { nowMs: clock.nowMs, scale: clock.scale };
  } catch {
    return undefined;
  }
}

export interface ClusterConnection {
  kc: KubeConfig;
  /** The private copy of the kubeconfig for {kubeconfig} in provider and hook commands (see kubeconfig-copy.ts). */
  kubeconfigPath: string;
  close(): void;
}

/** The cluster from the command line, and a private copy of its kubeconfig beside the state store. */
export function connectCluster(
  cmd: Command,
  statePath: string,
  fallbackKubeconfig?: string,
): ClusterConnection {
  const target = cmd.optsWithGlobals() as ClusterTarget;
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig({ kubeconfig: target.kubeconfig, context: target.context }, fallbackKubeconfig);
  } catch (err) {
    if (err instanceof KubeconfigError) throw new UsageError(err.message);
    throw err;
  }
  let copy: KubeconfigCopy;
  try {
    copy = writeKubeconfigCopy(kc, statePath);
  } catch (err) {
    throw new CliError(
      `cannot write the kubeconfig copy for provider and hook commands beside the state store ${statePath}: ${(err as Error).message}`,
    );
  }
  return { kc, kubeconfigPath: copy.path, close: copy.remove };
}

/** The state store's file (--state, else the default), and whether it exists yet. */
export function stateStoreFile(path: string | undefined): { file: string; exists: boolean } {
  const file = path ?? defaultStatePath();
  return { file, exists: file === ':memory:' || existsSync(file) };
}

/** The path of the state store, which must exist: a command that starts no run does not create one. */
function existingStore(path: string | undefined): string {
  const { file, exists } = stateStoreFile(path);
  if (!exists)
    throw new UsageError(
      `no state store at ${file}: \`midflight apply\` creates it with its first run; --state names another store`,
    );
  return file;
}

/**
 * The state store at `path` (default ~/.midflight/state.db). Only a command that starts a run creates it:
 * the others read or continue runs, and a mistyped --state must not leave an empty store behind.
 */
export function openStore(
  path: string | undefined,
  options: { clock?: Clock; create?: boolean } = {},
): RunStore {
  const file = options.create ? (path ?? defaultStatePath()) : existingStore(path);
  try {
    return RunStore.open(file, { clock: options.clock });
  } catch (err) {
    if (err instanceof StoreError) throw new CliError(err.message);
    throw err;
  }
}

/** The node provider the plan's policy names (strategy surge), if any; a wrong setting is bad input. */
export function nodeProviderFor(
  plan: Plan,
  env: { kc: KubeConfig; kubeconfigPath: string },
): NodeGroupProvider | undefined {
  if (!plan.policy.nodeProvider) return undefined;
  try {
    return nodeProviderFromPolicy(plan.policy.nodeProvider, env);
  } catch (err) {
    if (err instanceof ProviderConfigError) throw new UsageError(`the plan's policy: ${err.message}`);
    throw err;
  }
}

/** The provider the plan's policy names; a wrong setting is bad input naming the field. */
export function providerFor(
  plan: Plan,
  env: { kc: KubeConfig; clock: Clock; kubeconfigPath: string },
): ProviderSettings {
  try {
    return providerFromPolicy(plan.policy.provider, env);
  } catch (err) {
    if (err instanceof ProviderConfigError) throw new UsageError(`the plan's policy: ${err.message}`);
    throw err;
  }
}

/**
 * The run's health gates, built by src/gates from the plan's `gates` and `prometheus` (the plan the run
 * recorded, so a resumed run is gated as it started).
 */
export function gatesOf(plan: Plan): GateMonitorFactory {
  return (specs, deps) => createGateMonitor(specs, { ...deps, prometheus: plan.policy.prometheus });
}

export interface RunViewOptions {
  /** `table` (a person: live on a terminal, plain lines otherwise) or `json` (one event per line). */
  output: string;
  clock: Clock;
  plan: Plan;
  /** Plain lines even on a terminal (rollback: its steps are not the plan's phases). */
  lines?: boolean;
  /** Serve the run's metrics there while it executes (--metrics-addr). */
  metrics?: MetricsAddress;
}

/**
 * Executes `run` with a view attached and Ctrl-C mapped to "pause at the next safe point"; a second Ctrl-C
 * exits at once (the store and the node annotations let `resume` finish what was in flight).
 */
export async function executeWithView(
  deps: Omit<EngineDeps, 'onEvent'>,
  options: RunViewOptions,
  run: (deps: EngineDeps, signal: AbortSignal) => Promise<RunSummary>,
): Promise<RunSummary> {
  const mode: ViewMode =
    options.output === 'json' ? 'json' : process.stdout.isTTY && !options.lines ? 'live' : 'lines';
  // Note: before the view and the run, so an address already in use refuses the run with nothing done.
  let metrics: RunMetricsEndpoint | undefined;
  if (options.metrics)
    metrics = await serveRunMetrics(options.metrics, {
      plan: options.plan,
      clock: options.clock,
      store: deps.store,
    });
  const view = createRunView(mode, options.plan, options.clock);
  const interrupt = new AbortController();
  let runId: string | undefined;
  const onSignal = () => {
    if (interrupt.signal.aborted) {
      view.close();
      process.stderr.write(
        `\nstopped at once${runId ? `; \`midflight resume ${runId}\` continues the run` : ''}\n`,
      );
      process.exit(130);
    }
    interrupt.abort();
    view.note('pausing at the next safe point (the nodes in flight finish first); Ctrl-C again to exit now');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // IMPORTANT: the engine waits on the clock's timers, which do not hold the process open (unref'd); while
  // a drain waits for a budget nothing else may be pending, and Node would exit in the middle of the run.
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    return await run(
      {
        ...deps,
        onEvent: (e) => {
          runId = e.runId;
          view.onEvent(e);
          metrics?.onEvent(e);
        },
      },
      interrupt.signal,
    );
  } catch (err) {
    throw cliErrorOf(err);
  } finally {
    clearInterval(keepAlive);
    view.close();
    await metrics?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export interface RunSession {
  store: RunStore;
  /** Executes a run of `plan` (start, resume, abort or rollback) with the plan's provider and a live view. */
  execute(
    plan: Plan,
    fn: (deps: EngineDeps, options: RunOptions) => Promise<RunSummary>,
    lines?: boolean,
  ): Promise<RunSummary>;
}

/** The cluster, the clock it keeps and the store, for a command that executes a run. */
export async function withRunSession(
  cmd: Command,
  opts: MetricsFlags & {
    state?: string;
    output: string;
    leaseDuration: number;
    sandboxClock?: boolean;
    /** Create the state store if there is none (a command that starts a run). */
    createStore?: boolean;
  },
  fn: (session: RunSession) => Promise<void>,
): Promise<void> {
  // Note: a missing store and a bad metrics address are reported before the cluster is asked anything.
  if (!opts.createStore) existingStore(opts.state);
  const metrics = metricsAddressOf(opts);
  const conn = connectCluster(cmd, opts.state ?? defaultStatePath());
  try {
    const { clock, ...timing } = await executionSettings(opts, conn.kc);
    const store = openStore(opts.state, { clock, create: opts.createStore });
    try {
      await fn({
        store,
        execute(plan, execute, lines) {
          const env = { kc: conn.kc, clock, kubeconfigPath: conn.kubeconfigPath };
          const { provider } = providerFor(plan, env);
          const nodeProvider = nodeProviderFor(plan, env);
          return executeWithView(
            { ...env, store, provider, nodeProvider, gates: gatesOf(plan) },
            { output: opts.output, clock, plan, lines, metrics },
            (deps, signal) => execute(deps, { signal, ...timing }),
          );
        },
      });
    } finally {
      store.close();
    }
  } catch (err) {
    throw cliErrorOf(err);
  } finally {
    conn.close();
  }
}

/** Exit codes of a run (README's exit-code paragraph says the same). */
export const RUN_EXIT = { succeeded: 0, failed: 1, paused: 3, incomplete: 4 } as const;

/** Prints the summary (table output; JSON output already streamed it) and gives the run's exit code. */
export function finishRun(summary: RunSummary, output: string): number {
  const say = (text: string) => {
    if (output !== 'json') process.stdout.write(text);
  };
  const work = summary.mode === 'rollback' ? 'rollback' : 'run';
  say(`\n${renderSummary(summary)}`);
  switch (summary.state) {
    case 'succeeded':
      return RUN_EXIT.succeeded;
    case 'rolled-back':
      // A health gate's rollback of a wave means the upgrade did not go through: not a success to a script.
      if (summary.rollbackScope) {
        say(
          `\nA health gate rolled back ${summary.rollbackScope.join(', ')}. Fix the cause, then plan the upgrade again; ` +
            `\`midflight rollback ${summary.runId}\` returns the nodes earlier steps upgraded.\n`,
        );
        return RUN_EXIT.failed;
      }
      return RUN_EXIT.succeeded;
    case 'paused':
      say(`\nPaused. \`midflight resume ${summary.runId}\` continues the ${work}.\n`);
      return RUN_EXIT.paused;
    case 'incomplete':
      say(
        `\nIncomplete: the nodes listed above were left behind at their version. Fix what held them, then ` +
          `\`midflight resume ${summary.runId}\` retries them.\n`,
      );
      return RUN_EXIT.incomplete;
    default:
      if (summary.state === 'failed')
        say(
          summary.mode === 'rollback'
            ? `\nThe rollback stopped in a consistent state. Fix the cause, then \`midflight resume ${summary.runId}\` continues the rollback.\n`
            : `\nThe run stopped in a consistent state. Fix the cause, then \`midflight resume ${summary.runId}\`; ` +
                `\`midflight rollback ${summary.runId}\` returns the upgraded workers.\n`,
        );
      return RUN_EXIT.failed;
  }
}

/** The engine's and the cluster's refusals as one line each; bad plans are bad input (exit 2). */
export function cliErrorOf(err: unknown): unknown {
  // Note: the message already lists the problems (err.problems is for callers that want them one by one).
  if (err instanceof PlanRejectedError)
    return new UsageError(`plan refused (${err.rejection}): ${err.message}`);
  if (err instanceof LeaseHeldError) return new CliError(`refusing to start: ${err.message}`);
  if (err instanceof ExclusionRefusedError) return new CliError(err.message);
  if (err instanceof RunNotFoundError) return new UsageError(err.message);
  if (err instanceof RunStateError || err instanceof KubeError || err instanceof StoreError)
    return new CliError(err.message);
  // Any other failure the one classification calls temporary (an API server restarting, a conflict): say
  // that trying again may help. An unknown failure is permanent and is shown as it is.
  if (err instanceof Error && !(err instanceof CliError) && mayRetry(classifyFailure(err)))
    return new CliError(`${err.message} (a temporary failure: trying again may help)`);
  return err;
}
