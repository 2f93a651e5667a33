/**
 * A real Prometheus (Debian's /usr/bin/prometheus) for the gate tests: a free loopback port, a temp data
 * directory, TLS with a self-signed certificate and basic auth on its web side (so the provider's CA and
 * credential settings are exercised for real), scraping one plain-HTTP target every second.
 *
 * Skips (with a message) when the binary is missing; in CI (process.env.CI) a missing binary fails instead.
 * Note: test/e2e/prometheus-harness.ts is the shared harness (templates-on-sandbox.test.ts uses it); this one
 * exists for Prometheus' own TLS and basic auth, which that one does not set up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PrometheusSettings, queryPrometheus } from '../../src/gates/index.ts';
import { selfSignedCertificate } from '../../src/sandbox/api/tls-certificate.ts';
import { freeLoopbackPort, requireBinary } from '../e2e/loopback-binary.ts';

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';

/** True when the tests can run; skips with a message when not, and throws in CI, where it must be there. */
export function prometheusAvailable(): boolean {
  return requireBinary(PROMETHEUS_BINARY, 'prometheus');
}

/** The password below; its bcrypt hash (cost 5) is what Prometheus' web config holds. */
export const PASSWORD = 's3cret';
const PASSWORD_BCRYPT = '$2b$05$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXlK';

export interface LocalPrometheus {
  /** Settings that reach it: https, its certificate as CA, basic auth. */
  settings: PrometheusSettings;
  dir: string;
  stop(): Promise<void>;
}

export async function startLocalPrometheus(scrapeTarget: string): Promise<LocalPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'midflight-prom-'));
  const cert = await selfSignedCertificate();
  writeFileSync(join(dir, 'cert.pem'), cert.certPem);
  writeFileSync(join(dir, 'key.pem'), cert.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'password'), `${PASSWORD}\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, 'web.yml'),
    `tls_server_config:\n  cert_file: ${join(dir, 'cert.pem')}\n  key_file: ${join(dir, 'key.pem')}\nbasic_auth_users:\n  gate: '${PASSWORD_BCRYPT}'\n`,
  );
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: {scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n  - job_name: app\n    static_configs: [{targets: ['${scrapeTarget}']}]\n`,
  );
  const port = await freeLoopbackPort();
  const child: ChildProcess = spawn(
    PROMETHEUS_BINARY,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--web.config.file=${join(dir, 'web.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const settings: PrometheusSettings = {
    url: `https://127.0.0.1:${port}`,
    caFile: join(dir, 'cert.pem'),
    basicAuth: { username: 'gate', passwordFile: join(dir, 'password') },
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready once it answers a query and has scraped its target twice (a rate needs two samples).
  // The bound is generous: the machine is shared; an honest start takes a few seconds.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
    }
    try {
      if ((await queryPrometheus(settings, 'count_over_time(up{job="app"}[1m])', 2_000)) >= 2)
        return { settings, dir, stop };
    } catch {
      // Not up yet, or not scraped yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not scrape its target within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
