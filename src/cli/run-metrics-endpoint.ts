/**
 * `--metrics-addr`: the run's `midflight_*` metrics served over HTTP while it executes (apply, resume,
 * rollback, abort, demo). The flags, their checks (bad input before anything happens) and the glue between
 * the run's events, the state store and src/telemetry.
 */
import { type Command, Option } from 'commander';
import type { Clock } from '../core/index.ts';
import type { RunEvent } from '../engine/index.ts';
import type { Plan } from '../plan/index.ts';
import { isNodeRow, type RunStore } from '../store/index.ts';
import {
  type MetricsAddress,
  MetricsAddressError,
  MetricsServerError,
  type NodeStage,
  nodeStageOf,
  parseMetricsAddress,
  RunMetrics,
  startMetricsServer,
} from '../telemetry/index.ts';
import { CliError, UsageError } from './errors.ts';

export interface MetricsFlags {
  metricsAddr?: string;
  metricsAllowRemote?: boolean;
}

/** --metrics-addr and --metrics-allow-remote, for a command that executes a run. */
export function metricsOptions(): [Option, Option] {
  return [
    new Option(
      '--metrics-addr <host:port>',
      "serve the run's Prometheus metrics (midflight_*, labelled run_id) at http://HOST:PORT/metrics while it " +
        'executes; read-only and without authentication, so loopback only (127.0.0.1, ::1) unless ' +
        '--metrics-allow-remote; port 0 picks a free one (printed)',
    ),
    new Option(
      '--metrics-allow-remote',
      "let --metrics-addr listen on a non-loopback address: anyone who reaches it reads the run's metrics",
    ).default(false),
  ];
}

export function addMetricsOptions(cmd: Command): Command {
  for (const option of metricsOptions()) cmd.addOption(option);
  return cmd;
}

/** The address the flags ask for (undefined without --metrics-addr); a bad one is a usage error. */
export function metricsAddressOf(flags: MetricsFlags): MetricsAddress | undefined {
  if (flags.metricsAddr === undefined) {
    if (flags.metricsAllowRemote)
      throw new UsageError('--metrics-allow-remote goes with --metrics-addr HOST:PORT');
    return undefined;
  }
  try {
    return parseMetricsAddress(flags.metricsAddr, { allowRemote: flags.metricsAllowRemote });
  } catch (err) {
    if (err instanceof MetricsAddressError) throw new UsageError(err.message);
    throw err;
  }
}

export interface RunMetricsEndpoint {
  onEvent(event: RunEvent): void;
  close(): Promise<void>;
}

/**
 * Starts serving the metrics of the run about to execute `plan`, and says where on stderr (stdout may carry
 * only events). A resumed run's nodes that an earlier process finished are read from the store.
 */
export async function serveRunMetrics(
  address: MetricsAddress,
  env: { plan: Plan; clock: Clock; store: RunStore },
): Promise<RunMetricsEndpoint> {
  const nodes = new Set(env.plan.phases.flatMap((phase) => phase.steps.flatMap((step) => step.nodes)));
  const metrics = new RunMetrics({
    clock: env.clock,
    cluster: env.plan.cluster.server,
    plannedPhases: env.plan.phases.length,
    plannedNodes: [...nodes],
  });
  let server: Awaited<ReturnType<typeof startMetricsServer>>;
  try {
    server = await startMetricsServer(address, metrics.registry);
  } catch (err) {
    if (err instanceof MetricsServerError) throw new CliError(`--metrics-addr: ${err.message}`);
    throw err;
  }
  process.stderr.write(`Metrics: ${server.url}\n`);
  return {
    onEvent(event) {
      metrics.onEvent(event);
      if (event.type === 'run-started' && event.resumed)
        metrics.seedNodes(storedNodeStages(env.store, event.runId));
    },
    close: () => server.close(),
  };
}

/** Where each node of a run stands in the store: its latest row (a node retried in a later step wins). */
function storedNodeStages(store: RunStore, runId: string): Map<string, NodeStage> {
  const stages = new Map<string, NodeStage>();
  try {
    for (const row of store.stepStates(runId))
      if (isNodeRow(row)) stages.set(row.node, nodeStageOf(row.status, row.subStep, stages.get(row.node)));
  } catch {
    // The metrics then count only what this process sees.
  }
  return stages;
}
