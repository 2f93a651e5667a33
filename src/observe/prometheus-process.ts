/**
 * A Prometheus of our own (Debian's `/usr/bin/prometheus`) on a free loopback port, with a temp data
 * directory and a generated config scraping the given targets, every second by default. The demo starts one
 * to read its sandbox's SLIs; the tests start them the same way (test/e2e/prometheus-harness.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { type LoopbackDaemon, startLoopbackDaemon } from './loopback-daemon.ts';

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

export interface PrometheusProcessOptions {
  targets: ScrapeTarget[];
  /** Scrape and rule evaluation interval. Default 1 s, so a change shows within seconds. */
  intervalSeconds?: number;
  /** Rule files (absolute paths), loaded as written. */
  ruleFiles?: string[];
  /** Alertmanagers (`http://127.0.0.1:PORT`) the firing alerts are sent to. */
  alertmanagerUrls?: string[];
  /** Where the binary is; default /usr/bin/prometheus. */
  binary?: string;
}

export interface PrometheusProcess extends LoopbackDaemon {
  /**
   * Waits until `job` has been scraped successfully `scrapes` times, so that a rate() over a few scrape
   * intervals has its two samples. Throws after `timeoutMs` of wall time (default 60 s: generous, as a busy
   * machine may need it).
   */
  waitForScrapes(job: string, scrapes: number, timeoutMs?: number): Promise<void>;
}

export async function startPrometheus(options: PrometheusProcessOptions): Promise<PrometheusProcess> {
  const interval = `${options.intervalSeconds ?? 1}s`;
  const daemon = await startLoopbackDaemon({
    binary: options.binary ?? PROMETHEUS_BINARY,
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
        // Note: a short-lived server: a stale series must not outlive the scrape that stopped seeing it by minutes.
        '--query.lookback-delta=30s',
        '--log.level=warn',
      ];
    },
  });
  return {
    ...daemon,
    async waitForScrapes(job, scrapes, timeoutMs = 60_000) {
      const query = `sum_over_time(up{job="${job}"}[10m])`;
      const deadline = Date.now() + timeoutMs;
      let last = 'no answer';
      for (;;) {
        try {
          const res = await fetch(`${daemon.url}/api/v1/query?query=${encodeURIComponent(query)}`);
          const body = (await res.json()) as {
            data?: { result?: Array<{ value: [number, string] }> };
          };
          const value = Number(body.data?.result?.[0]?.value[1] ?? 0);
          if (value >= scrapes) return;
          last = `${value} successful scrape(s)`;
        } catch (err) {
          last = (err as Error).message;
        }
        if (Date.now() > deadline)
          throw new Error(
            `prometheus did not scrape ${job} ${scrapes} times within ${timeoutMs / 1000} s (${last}):\n${daemon.output().slice(-2000)}`,
          );
        await new Promise((r) => setTimeout(r, 250));
      }
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
