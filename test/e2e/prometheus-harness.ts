import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { type LoopbackProcess, requireBinary, startLoopbackProcess } from './loopback-binary.ts';

export { requireBinary } from './loopback-binary.ts';

/**
 * A real Prometheus (Debian's `/usr/bin/prometheus`, 2.42) for tests: on a free loopback port, with a temp
 * data directory and a generated config scraping the given targets every second.
 *
 *   describe.skipIf(!requireBinary('prometheus'))('…', () => {
 *     const sandbox = await startSandbox();
 *     const prom = await startPrometheus({ targets: [scrapeTargetOf(sandbox.kubeConfig())] });
 *     await prom.waitForTargetsUp();
 *     const [sample] = await prom.query('sum(apiserver_request_total)');
 *     await prom.stop();
 */

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';

/** One endpoint to scrape, with the credentials it wants. */
export interface ScrapeTarget {
  /** The `job` label of its series. */
  job: string;
  /** Base URL (`https://127.0.0.1:6443`); the metrics are read from `metricsPath` under it. */
  url: string;
  metricsPath?: string;
  bearerToken?: string;
  /** PEM of the CA that signed the target's serving certificate. */
  caPem?: string;
  insecureSkipVerify?: boolean;
}

/**
 * The scrape target of a cluster's `/metrics` as its kubeconfig reaches it (the sandbox's, or any other):
 * its server, its user's bearer token, and its CA (or insecure-skip-tls-verify, as the kubeconfig says).
 */
export function scrapeTargetOf(kc: KubeConfig, job = 'sandbox'): ScrapeTarget {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster to scrape');
  const user = kc.getCurrentUser();
  const caPem = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : undefined;
  return {
    job,
    url: cluster.server,
    ...(user?.token ? { bearerToken: user.token } : {}),
    ...(caPem ? { caPem } : {}),
    ...(cluster.skipTLSVerify ? { insecureSkipVerify: true } : {}),
  };
}

export interface PrometheusOptions {
  targets: ScrapeTarget[];
  /** Scrape and rule evaluation interval. Default 1 s, so a test sees a change within seconds. */
  intervalSeconds?: number;
  /** Rule files (absolute paths), loaded as written. */
  ruleFiles?: string[];
  /** Alertmanagers (`http://127.0.0.1:PORT`) the firing alerts are sent to. */
  alertmanagerUrls?: string[];
}

/** One series of an instant query's answer. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface RunningPrometheus extends LoopbackProcess {
  /** An instant query (`/api/v1/query`) at the server's now; throws on an error answer. */
  query(promql: string): Promise<PromSample[]>;
  /**
   * Polls `promql` every half second until `accept` holds for its answer, and returns that answer. The
   * bound (default 60 s of wall time) is generous: the machine is shared; an honest wait takes seconds.
   */
  waitFor(
    promql: string,
    accept: (samples: PromSample[]) => boolean,
    timeoutMs?: number,
  ): Promise<PromSample[]>;
  /** Waits until every target has been scraped successfully at least once. */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
}

export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const interval = `${options.intervalSeconds ?? 1}s`;
  const proc = await startLoopbackProcess({
    binary: PROMETHEUS_BINARY,
    name: 'prometheus',
    readyPath: '/-/ready',
    prepare(dir, port) {
      const config = {
        global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
        ...(options.ruleFiles?.length ? { rule_files: options.ruleFiles } : {}),
        ...(options.alertmanagerUrls?.length
          ? {
              alerting: {
                alertmanagers: [
                  { static_configs: [{ targets: options.alertmanagerUrls.map((u) => new URL(u).host) }] },
                ],
              },
            }
          : {}),
        scrape_configs: options.targets.map((t, i) => scrapeConfig(dir, t, i)),
      };
      writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
      return [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-lifecycle',
        // Note: stale series must not outlive the scrape that stopped seeing them by minutes in a test.
        '--query.lookback-delta=30s',
        '--log.level=warn',
      ];
    },
  });
  const query = async (promql: string): Promise<PromSample[]> => {
    const res = await fetch(`${proc.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: unknown };
    };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error ?? `HTTP ${res.status}`}`);
    if (body.data?.resultType === 'scalar') {
      const [, v] = body.data.result as [number, string];
      return [{ metric: {}, value: Number(v) }];
    }
    return (
      (body.data?.result ?? []) as Array<{ metric: Record<string, string>; value: [number, string] }>
    ).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  const waitFor: RunningPrometheus['waitFor'] = async (promql, accept, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: PromSample[] | string = [];
    for (;;) {
      try {
        last = await query(promql);
        if (accept(last)) return last;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline)
        throw new Error(
          `${promql}: not accepted within ${timeoutMs} ms; last answer: ${JSON.stringify(last)}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  return {
    ...proc,
    query,
    waitFor,
    async waitForTargetsUp(timeoutMs = 60_000) {
      await waitFor(
        'up',
        (s) => s.length === options.targets.length && s.every((x) => x.value === 1),
        timeoutMs,
      );
    },
  };
}

function scrapeConfig(dir: string, t: ScrapeTarget, i: number): Record<string, unknown> {
  const url = new URL(t.url);
  const tls: Record<string, unknown> = {};
  if (t.caPem) {
    const caFile = join(dir, `ca-${i}.pem`);
    writeFileSync(caFile, t.caPem);
    tls.ca_file = caFile;
  }
  if (t.insecureSkipVerify) tls.insecure_skip_verify = true;
  const config: Record<string, unknown> = {
    job_name: t.job,
    scheme: url.protocol.replace(':', ''),
    metrics_path: t.metricsPath ?? '/metrics',
    static_configs: [{ targets: [url.host] }],
  };
  if (t.bearerToken) {
    // The token goes in a file of its own (mode 0600), not into the config Prometheus serves on /config.
    const tokenFile = join(dir, `token-${i}`);
    writeFileSync(tokenFile, t.bearerToken, { mode: 0o600 });
    config.authorization = { type: 'Bearer', credentials_file: tokenFile };
  }
  if (Object.keys(tls).length > 0) config.tls_config = tls;
  return config;
}

/** Whether Debian's Prometheus is installed; see requireBinary for what a missing one does. */
export function prometheusAvailable(): boolean {
  return requireBinary('prometheus');
}
