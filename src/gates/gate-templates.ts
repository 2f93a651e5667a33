/**
 * The built-in gates M1–M7 (the issue's minimum SLIs) and burn-rate: what each one measures and its
 * default condition, per provider. A template only supplies defaults: every field the policy sets wins.
 *
 * Every value is a ratio (0.999, not 99.9) or seconds, so one condition reads the same on every provider.
 * Queries use the names real components export (kube-apiserver, etcd, kube-controller-manager,
 * kube-state-metrics); the sandbox exports the same ones.
 */
import { parseDuration } from '../core/index.ts';
import { DEFAULT_BURN_THRESHOLD, DEFAULT_SLO_WINDOW, defaultBurnWindows } from './burn-rate.ts';
import type { BurnRateSpec, GateProviderKind, GateSpec, GateTemplateName } from './gate-types.ts';

export type TemplateArgs = Record<string, string | number>;

/** What a template fills in; `problems` are the template's own argument errors. */
export type TemplateDefaults = Partial<
  Pick<GateSpec, 'provider' | 'query' | 'success' | 'failure' | 'interval' | 'burnRate'>
>;

export interface TemplateInfo {
  title: string;
  /** Providers the template knows a query for; the first is its default. */
  providers: GateProviderKind[];
  /** Argument names it reads (anything else is a mistake worth reporting). */
  args: string[];
}

/** The default services metrics: the names most HTTP instrumentation libraries use. */
const DEFAULT_REQUESTS_METRIC = 'http_requests_total';
const DEFAULT_LATENCY_METRIC = 'http_request_duration_seconds';
/**
 * Pod disruptions by the run id their eviction carried. No Kubernetes component exports this (the audit
 * log holds it); the sandbox does, and a cluster can derive it from its audit log under any name (`metric`).
 */
const DEFAULT_DISRUPTIONS_METRIC = 'sandbox_pod_disruptions_total';
const PROM_ARGS = ['selector', 'window'];
const SERVICE_ARGS = [...PROM_ARGS, 'service', 'namespace', 'metric'];

export const TEMPLATES: Record<GateTemplateName, TemplateInfo> = {
  M1: { title: 'API availability', providers: ['kube', 'prometheus'], args: PROM_ARGS },
  M2: {
    title: 'node readiness outside the nodes in flight',
    providers: ['kube', 'prometheus'],
    args: PROM_ARGS,
  },
  M3: {
    title: 'unplanned pod disruption',
    providers: ['kube', 'prometheus'],
    args: [...PROM_ARGS, 'metric'],
  },
  M4: { title: 'request latency p95', providers: ['prometheus'], args: SERVICE_ARGS },
  M5: { title: '5xx error rate', providers: ['prometheus'], args: SERVICE_ARGS },
  M6: { title: 'etcd commit latency p99', providers: ['prometheus'], args: PROM_ARGS },
  M7: { title: 'volume attach failures', providers: ['prometheus'], args: [...PROM_ARGS, 'operation'] },
  'burn-rate': {
    title: 'error-budget burn rate',
    providers: ['prometheus'],
    args: [...SERVICE_ARGS, 'errorRatio', 'objective', 'sloWindow', 'threshold'],
  },
};

/** A template argument that is wrong; the caller adds the field path. */
export class TemplateArgError extends Error {
  constructor(
    readonly arg: string,
    message: string,
  ) {
    super(message);
    this.name = 'TemplateArgError';
  }
}

/** `,a="b"` matchers from the service/namespace/selector arguments, to append inside `{…}`. */
function matchers(args: TemplateArgs, withService: boolean): string {
  const parts: string[] = [];
  if (withService && args.service !== undefined) parts.push(`service="${String(args.service)}"`);
  if (withService && args.namespace !== undefined) parts.push(`namespace="${String(args.namespace)}"`);
  if (args.selector !== undefined) parts.push(String(args.selector));
  return parts.join(',');
}

const join = (...parts: string[]) => parts.filter((p) => p !== '').join(',');

/** The fields the template stands for on `provider`. Throws TemplateArgError for a bad argument. */
export function templateDefaults(
  name: GateTemplateName,
  provider: GateProviderKind,
  args: TemplateArgs,
): TemplateDefaults {
  checkArgs(args);
  const window = String(args.window ?? '5m');
  const sel = matchers(args, false);
  const svc = matchers(args, true);
  const requests = String(args.metric ?? DEFAULT_REQUESTS_METRIC);
  const latency = String(args.metric ?? DEFAULT_LATENCY_METRIC);
  switch (name) {
    case 'M1':
      return provider === 'kube'
        ? { provider, query: 'api-availability', success: 'result >= 0.999' }
        : {
            provider,
            query: `sum(rate(apiserver_request_total{${join('code!~"5.."', sel)}}[${args.window ?? '1m'}])) / sum(rate(apiserver_request_total{${sel}}[${args.window ?? '1m'}]))`,
            success: 'result >= 0.999',
          };
    case 'M2': {
      if (provider === 'kube') return { provider, query: 'node-readiness', success: 'result == 1' };
      // kube-state-metrics: one series per node and status, 1 for the node's current one.
      const ready = `kube_node_status_condition{${join('condition="Ready"', 'status="true"', 'node!~"{nodesInFlight}"', sel)}}`;
      return { provider, query: `avg(${ready})`, success: 'result == 1' };
    }
    case 'M3': {
      if (provider === 'kube')
        return { provider, query: 'unplanned-disruption', success: 'result < baseline + 0.01' };
      // Disruptions whose request was not labelled with this run's id (see RUN_ID_LABEL), per pod.
      const counter = String(args.metric ?? DEFAULT_DISRUPTIONS_METRIC);
      return {
        provider,
        query: `(sum(increase(${counter}{${join('run_id!="{runId}"', sel)}}[${window}])) or vector(0)) / count(kube_pod_info)`,
        success: 'result < baseline + 0.01',
      };
    }
    case 'M4':
      return {
        provider,
        query: `histogram_quantile(0.95, sum by (le) (rate(${latency}_bucket{${svc}}[${window}])))`,
        success: 'result < 1.2 * baseline',
      };
    case 'M5':
      return {
        provider,
        query: errorRatioQuery(requests, svc, window),
        // Note: the floor keeps a spotless baseline (0 errors) from failing the gate on the first 500.
        // IMPORTANT: no inconclusive band between 2x and the page level (3x, the MidflightCriticalServiceErrors
        // alert's): errors measured over a rate() window climb through such a band on their way up, so the
        // gate would pause on it (onInconclusive) before the failure its onFailure (rollback) is for.
        success: 'result < max(2 * baseline, 0.001)',
      };
    case 'M6':
      return {
        provider,
        query: `histogram_quantile(0.99, sum by (le) (rate(etcd_disk_backend_commit_duration_seconds_bucket{${sel}}[${window}])))`,
        success: 'result < 0.2',
      };
    case 'M7':
      return {
        provider,
        query: `sum(increase(storage_operation_duration_seconds_count{${join(`operation_name="${String(args.operation ?? 'volume_attach')}"`, 'status!="success"', sel)}}[${window}])) or vector(0)`,
        success: 'result == 0',
      };
    case 'burn-rate':
      return burnRateDefaults(provider, args, requests, svc);
  }
}

/** Arguments that go into PromQL as they are: a window must be a duration, a label value plain text. */
function checkArgs(args: TemplateArgs): void {
  if (args.window !== undefined) {
    try {
      parseDuration(String(args.window));
    } catch {
      throw new TemplateArgError('window', 'must be a duration such as 1m or 5m (the range of rate())');
    }
  }
  for (const key of ['service', 'namespace', 'operation'])
    if (args[key] !== undefined && /["\\\n]/.test(String(args[key])))
      throw new TemplateArgError(
        key,
        'must be a plain label value, without quotes, backslashes or line breaks',
      );
  if (args.metric !== undefined && !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(String(args.metric)))
    throw new TemplateArgError('metric', 'must be a Prometheus metric name, e.g. http_requests_total');
}

/** 5xx over all requests; no 5xx series at all means none failed (0), not "no data". */
function errorRatioQuery(metric: string, selector: string, window: string): string {
  return `(sum(rate(${metric}{${join('code=~"5.."', selector)}}[${window}])) or vector(0)) / sum(rate(${metric}{${selector}}[${window}]))`;
}

function burnRateDefaults(
  provider: GateProviderKind,
  args: TemplateArgs,
  requests: string,
  svc: string,
): TemplateDefaults {
  const objective = parseObjective(args.objective);
  const threshold = args.threshold === undefined ? DEFAULT_BURN_THRESHOLD : Number(args.threshold);
  if (!(threshold > 0)) throw new TemplateArgError('threshold', 'must be a number above 0, e.g. 2');
  const sloWindow = String(args.sloWindow ?? DEFAULT_SLO_WINDOW);
  let windows: BurnRateSpec['windows'];
  try {
    windows = defaultBurnWindows(sloWindow);
  } catch {
    throw new TemplateArgError('sloWindow', 'must be a duration such as 30d or 28d');
  }
  const query =
    args.errorRatio !== undefined ? String(args.errorRatio) : errorRatioQuery(requests, svc, '{window}');
  if (!query.includes('{window}'))
    throw new TemplateArgError(
      'errorRatio',
      'must contain {window} where the range goes, e.g. sum(rate(errors[{window}])) / sum(rate(requests[{window}]))',
    );
  return {
    provider,
    query,
    success: `result <= ${threshold}`,
    failure: `result > ${threshold}`,
    burnRate: { objective, sloWindow, threshold, windows },
  };
}

/** 0.999, "99.9%" or 99.9 (a number above 1 is read as a percent). */
function parseObjective(raw: string | number | undefined): number {
  if (raw === undefined)
    throw new TemplateArgError('objective', 'is required: the SLO target, e.g. 0.999 or "99.9%"');
  const text = String(raw).trim();
  const value = Number(text.replace(/%$/, ''));
  // Note: rounded, because 99.9 / 100 is 0.9990000000000001 in floating point.
  const ratio = value > 1 || text.endsWith('%') ? Number((value / 100).toPrecision(15)) : value;
  if (!Number.isFinite(ratio) || ratio <= 0 || ratio >= 1)
    throw new TemplateArgError('objective', 'must be a target between 0 and 100 %, e.g. 0.999 or "99.9%"');
  return ratio;
}
