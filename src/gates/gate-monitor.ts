/**
 * The GateMonitor: measures each gate at its interval on the run's clock, judges every measurement,
 * counts failed and inconclusive ones against the gate's limits, and tells the run what to do.
 *
 * Fail closed: a query that errors is a failed measurement, one that returns nothing (or NaN) an
 * inconclusive one; neither ever passes. Once a gate has used up a limit the decision stands for the rest
 * of this monitor's life (as an Argo analysis run stays Failed): a resumed run builds a new monitor.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration } from '../core/index.ts';
import { multiWindowBurn } from './burn-rate.ts';
import { parseCondition } from './condition.ts';
import { validateGates } from './gate-policy.ts';
import type {
  GateDecision,
  GateEvaluation,
  GateMonitor,
  GateMonitorDeps,
  GateSpec,
  GateVerdict,
  KubeQuery,
} from './gate-types.ts';
import { type GateConditions, verdictOf } from './gate-verdict.ts';
import { NoDataError } from './measurement.ts';
import { measureCommand } from './providers/command-probe.ts';
import { measureHttp } from './providers/http-probe.ts';
import { KubeProbe } from './providers/kube-probe.ts';
import { queryPrometheus } from './providers/prometheus-query.ts';

/**
 * How long, on the run's clock, a node that left the flight stays in a prometheus gate's `{nodesInFlight}`.
 * Prometheus' answer is as old as its last scrape, plus the exporter's own delay (kube-state-metrics); 2
 * minutes covers the usual 30 s or 1 m scrape interval twice over. A node's own return was verified
 * (Ready at its version) before it left the flight, so the gates lose little by leaving it out a while longer.
 */
export const PROMETHEUS_LAG_MS = 120_000;

/** Gates that cannot run as given: an invalid spec, or a prometheus gate and no prometheus settings. */
export class GateConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GateConfigError';
  }
}

/** Some baselines could not be taken; the run must not start without them. */
export class GateBaselineError extends Error {
  constructor(readonly failures: Array<{ gate: string; error: string }>) {
    super(
      `cannot record the baseline of ${failures.map((f) => `gate ${f.gate} (${f.error})`).join('; ')}: conditions that compare with a baseline cannot be judged without one; fix the query or give the gate no baseline`,
    );
    this.name = 'GateBaselineError';
  }
}

interface GateState {
  spec: GateSpec;
  conditions: GateConditions;
  usesBaseline: boolean;
  intervalMs: number;
  timeoutMs: number;
  nextAt: number;
  measurements: number;
  failures: number;
  inconclusives: number;
  baseline?: number;
  last?: GateEvaluation;
}

/**
 * The monitor of a policy's gates. They are checked again (a plan's policy is data a person could have
 * edited; a plan written before gates were a list holds `{}`, which means none) and a problem throws
 * GateConfigError naming its field.
 */
export function createGateMonitor(policyGates: GateSpec[], deps: GateMonitorDeps): GateMonitor {
  const { gates, errors } = validateGates(policyGates, 'policy.gates', {
    prometheusConfigured: deps.prometheus !== undefined,
  });
  if (errors.length > 0)
    throw new GateConfigError(
      `the health gates cannot run: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
    );
  return new Monitor(gates, deps);
}

class Monitor implements GateMonitor {
  private readonly gates: GateState[];
  private kube?: KubeProbe;
  private workDir?: string;
  private decided?: GateDecision;
  private checking?: Promise<GateDecision>;

  constructor(
    specs: GateSpec[],
    private readonly deps: GateMonitorDeps,
  ) {
    this.gates = specs.map((spec) => {
      const conditions: GateConditions = {
        success: spec.success === undefined ? undefined : parseCondition(spec.success),
        failure: spec.failure === undefined ? undefined : parseCondition(spec.failure),
      };
      return {
        spec,
        conditions,
        usesBaseline: Boolean(conditions.success?.usesBaseline || conditions.failure?.usesBaseline),
        intervalMs: parseDuration(spec.interval),
        timeoutMs: parseDuration(spec.timeout),
        nextAt: Number.NEGATIVE_INFINITY,
        measurements: 0,
        failures: 0,
        inconclusives: 0,
      };
    });
  }

  async baseline(known: Record<string, number>): Promise<Record<string, number>> {
    const out: Record<string, number> = { ...known };
    const failures: Array<{ gate: string; error: string }> = [];
    await Promise.all(
      this.gates.map(async (g) => {
        if (!g.usesBaseline) return;
        const given = known[g.spec.name];
        if (given !== undefined) {
          g.baseline = given;
          return;
        }
        try {
          g.baseline = await this.measureBaseline(g);
          out[g.spec.name] = g.baseline;
        } catch (err) {
          failures.push({ gate: g.spec.name, error: (err as Error).message });
        }
      }),
    );
    if (failures.length > 0) throw new GateBaselineError(failures);
    return out;
  }

  /**
   * Note: the engine may ask from several places at once (a wave's admissions, another wave's soak); they
   * share the check in progress, so a gate is never measured twice for one interval.
   */
  check(): Promise<GateDecision> {
    this.checking ??= this.checkNow().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async checkNow(): Promise<GateDecision> {
    if (this.decided) return this.decided;
    const now = this.deps.clock.now();
    const due = this.gates.filter(
      (g) => now >= g.nextAt && (g.spec.count === undefined || g.measurements < g.spec.count),
    );
    const evaluations = await Promise.all(due.map((g) => this.evaluate(g, now)));
    due.forEach((g, i) => {
      const e = evaluations[i]!;
      g.nextAt = now + g.intervalMs;
      g.measurements++;
      g.last = e;
      if (e.verdict === 'failure') g.failures++;
      if (e.verdict === 'inconclusive') g.inconclusives++;
      this.deps.onEvaluation?.(e);
    });
    const tripped: GateDecision[] = [];
    for (const g of this.gates) {
      if (g.failures > g.spec.failureLimit)
        tripped.push({ action: g.spec.onFailure, gate: g.spec.name, reason: reasonOf(g, 'failure') });
      if (g.inconclusives > g.spec.inconclusiveLimit)
        tripped.push({
          action: g.spec.onInconclusive,
          gate: g.spec.name,
          reason: reasonOf(g, 'inconclusive'),
        });
    }
    // Rolling back also stops the flow, so it wins over a pause asked for by another gate.
    this.decided = tripped.find((d) => d.action === 'rollback') ?? tripped[0];
    return this.decided ?? { action: 'continue' };
  }

  private async evaluate(g: GateState, time: number): Promise<GateEvaluation> {
    const query = this.fill(g.spec);
    const base = {
      gate: g.spec.name,
      time,
      query,
      ...(g.baseline !== undefined ? { baseline: g.baseline } : {}),
    };
    let value: number;
    try {
      value = await this.measure(g, query);
    } catch (err) {
      const verdict: GateVerdict = err instanceof NoDataError ? 'inconclusive' : 'failure';
      return { ...base, verdict, error: (err as Error).message };
    }
    try {
      return { ...base, value, verdict: verdictOf(g.conditions, value, g.baseline) };
    } catch (err) {
      return { ...base, value, verdict: 'failure', error: (err as Error).message };
    }
  }

  private async measure(g: GateState, query: string): Promise<number> {
    const { spec } = g;
    switch (spec.provider) {
      case 'prometheus': {
        const settings = this.deps.prometheus!;
        const burn = spec.burnRate;
        if (!burn) return queryPrometheus(settings, query, g.timeoutMs);
        const ratio = (window: string) =>
          queryPrometheus(settings, query.replaceAll('{window}', promDuration(window)), g.timeoutMs);
        const pairs = await Promise.all(
          burn.windows.map(async (w) => ({ long: await ratio(w.long), short: await ratio(w.short) })),
        );
        return multiWindowBurn(pairs, burn.objective);
      }
      case 'kube':
        this.kube ??= new KubeProbe(this.deps.kc, this.deps.clock);
        return this.kube.measure(spec.query as KubeQuery, this.inFlight(), g.timeoutMs);
      case 'http':
        return measureHttp({ url: query, field: spec.field, timeoutMs: g.timeoutMs, settings: spec.http });
      case 'command':
        return measureCommand({
          script: query,
          field: spec.field,
          timeoutMs: g.timeoutMs,
          dir: this.gateDir(spec.name),
          env: {
            ...process.env,
            MIDFLIGHT_RUN_ID: this.deps.runId,
            MIDFLIGHT_GATE: spec.name,
            MIDFLIGHT_NODES_IN_FLIGHT: this.inFlight().join(' '),
          },
        });
    }
  }

  /**
   * A gate's value over its baseline window: prometheus averages the query over the window (a subquery at
   * the server's evaluation interval); the other providers can only measure the present, once.
   * Note: a server that has only just started has no subquery point yet where a rate() sees two samples;
   * then the present value is the baseline (still a measurement: a query with no data at all fails).
   */
  private async measureBaseline(g: GateState): Promise<number> {
    const query = this.fill(g.spec);
    if (g.spec.provider === 'prometheus' && !g.spec.burnRate) {
      const window = promDuration(g.spec.baselineWindow);
      try {
        return await queryPrometheus(
          this.deps.prometheus!,
          `avg_over_time((${query})[${window}:])`,
          g.timeoutMs,
        );
      } catch (err) {
        if (!(err instanceof NoDataError)) throw err;
      }
    }
    return this.measure(g, query);
  }

  private inFlight(): string[] {
    return this.deps.nodesInFlight?.() ?? [];
  }

  /** The nodes in flight, and those that left it less than PROMETHEUS_LAG_MS ago (sorted after them). */
  private inFlightAsPrometheusSeesIt(): string[] {
    const now = this.deps.clock.now();
    const nodes = this.inFlight();
    const lately = [...(this.deps.nodesLeftFlight?.() ?? [])]
      .filter(([node, leftAt]) => now - leftAt < PROMETHEUS_LAG_MS && !nodes.includes(node))
      .map(([node]) => node)
      .sort();
    return [...nodes, ...lately];
  }

  /** The query with `{runId}` and `{nodesInFlight}` filled in, written as each provider reads them. */
  private fill(spec: GateSpec): string {
    if (spec.provider === 'prometheus')
      return spec.query
        .replaceAll('{runId}', this.deps.runId)
        .replaceAll('{nodesInFlight}', this.inFlightAsPrometheusSeesIt().map(escapeRegex).join('|'));
    const nodes = this.inFlight();
    if (spec.provider === 'http')
      return spec.query
        .replaceAll('{runId}', encodeURIComponent(this.deps.runId))
        .replaceAll('{nodesInFlight}', encodeURIComponent(nodes.join(',')));
    return spec.query;
  }

  private gateDir(name: string): string {
    this.workDir ??= this.deps.workDir ?? mkdtempSync(join(tmpdir(), 'midflight-gates-'));
    const dir = join(this.workDir, name.replace(/[^\w.-]/g, '_'));
    mkdirSync(dir, { recursive: true });
    return dir;
  }
}

function reasonOf(g: GateState, kind: 'failure' | 'inconclusive'): string {
  const count = kind === 'failure' ? g.failures : g.inconclusives;
  const limit = kind === 'failure' ? g.spec.failureLimit : g.spec.inconclusiveLimit;
  const what = kind === 'failure' ? 'failed' : 'inconclusive';
  const last = g.last;
  let detail = '';
  if (last?.error) detail = last.error;
  else if (last?.value !== undefined) {
    const against = last.baseline !== undefined ? ` (baseline ${formatValue(last.baseline)})` : '';
    const conditions = [
      g.spec.success && `success "${g.spec.success}"`,
      g.spec.failure && `failure "${g.spec.failure}"`,
    ]
      .filter(Boolean)
      .join(', ');
    detail = `measured ${formatValue(last.value)}${against} against ${conditions}`;
  }
  return `gate ${g.spec.name}: ${count} ${what} measurement${count === 1 ? '' : 's'} (${kind}Limit ${limit})${detail ? `; last: ${detail}` : ''}`;
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** Prometheus reads plain seconds everywhere a duration goes. */
function promDuration(text: string): string {
  return `${Math.max(1, Math.round(parseDuration(text) / 1000))}s`;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
