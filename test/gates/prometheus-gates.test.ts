/**
 * Prometheus gates against a real Prometheus (TLS, basic auth) scraping a small app server of the test's:
 * the query API's answers read as one number, no data and errors counted against the gate, the templates'
 * PromQL accepted by a real server, baselines averaged over their window, and multi-window burn rate.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealClock, VirtualClock } from '../../src/core/index.ts';
import {
  createGateMonitor,
  type GateEvaluation,
  NoDataError,
  PROMETHEUS_LAG_MS,
  type PrometheusSettings,
  queryPrometheus,
  validateGates,
} from '../../src/gates/index.ts';
import {
  type LocalPrometheus,
  PASSWORD,
  prometheusAvailable,
  startLocalPrometheus,
} from './local-prometheus.ts';

/**
 * The app's counters grow at these rates (per second of wall time) between scrapes; a test changes shop's
 * to move its SLI. cart always fails 1 % of its requests. Node readiness and the fixed gauge never change.
 */
const rates = { ok: 100, errors: 0 };
const counters = { ok: 0, errors: 0, cartOk: 0, cartErrors: 0 };
let lastScrape = Date.now();

function metricsText(): string {
  const now = Date.now();
  const seconds = (now - lastScrape) / 1000;
  lastScrape = now;
  counters.ok += rates.ok * seconds;
  counters.errors += rates.errors * seconds;
  counters.cartOk += 99 * seconds;
  counters.cartErrors += 1 * seconds;
  return [
    'temperature_celsius 21.5',
    'queue_depth{queue="a"} 1',
    'queue_depth{queue="b"} 2',
    `http_requests_total{service="shop",code="200"} ${counters.ok}`,
    `http_requests_total{service="shop",code="500"} ${counters.errors}`,
    `http_requests_total{service="cart",code="200"} ${counters.cartOk}`,
    `http_requests_total{service="cart",code="503"} ${counters.cartErrors}`,
    'kube_node_status_condition{node="node-a",condition="Ready",status="true"} 1',
    'kube_node_status_condition{node="node-b",condition="Ready",status="true"} 1',
    'kube_node_status_condition{node="node-c",condition="Ready",status="true"} 0',
    '',
  ].join('\n');
}

const available = prometheusAvailable();

describe.skipIf(!available)('prometheus gates', () => {
  let app: http.Server;
  let prom: LocalPrometheus;
  let settings: PrometheusSettings;

  beforeAll(async () => {
    app = http.createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end(metricsText()),
    );
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    prom = await startLocalPrometheus(`127.0.0.1:${(app.address() as AddressInfo).port}`);
    settings = prom.settings;
  }, 90_000);

  afterAll(async () => {
    await prom?.stop();
    await new Promise<void>((resolve) => app?.close(() => resolve()));
  });

  describe('the query API', () => {
    it.each([
      ['an instant vector of one series', 'temperature_celsius', 21.5],
      ['an aggregated vector', 'sum(queue_depth)', 3],
      ['a scalar', 'scalar(sum(queue_depth)) * 2', 6],
    ])('reads %s', async (_name, promql, value) => {
      expect(await queryPrometheus(settings, promql, 10_000)).toBe(value);
    });

    it('calls an empty answer no data', async () => {
      await expect(queryPrometheus(settings, 'no_such_metric', 10_000)).rejects.toThrow(NoDataError);
      await expect(queryPrometheus(settings, 'no_such_metric', 10_000)).rejects.toThrow('returned no series');
    });

    it('calls NaN (0/0: no traffic) no data', async () => {
      await expect(queryPrometheus(settings, 'sum(queue_depth) * 0 / 0', 10_000)).rejects.toThrow(
        NoDataError,
      );
    });

    it('refuses several series: a gate needs one number', async () => {
      await expect(queryPrometheus(settings, 'queue_depth', 10_000)).rejects.toThrow(
        /returned 2 series \(e\.g\. queue_depth\{.*queue="a"\}\); aggregate it/,
      );
    });

    it('passes on the server’s own words for a broken query', async () => {
      await expect(queryPrometheus(settings, 'sum(rate(x[5m])', 10_000)).rejects.toThrow(
        /prometheus refused the query \(400 bad_data\): .*parse error/,
      );
    });

    it.each<[string, (s: PrometheusSettings) => PrometheusSettings, RegExp]>([
      [
        'a wrong password',
        (s) => ({ ...s, basicAuth: { username: 'gate', passwordFile: join(prom.dir, 'cert.pem') } }),
        /answered 401/,
      ],
      ['no credentials', ({ basicAuth: _b, ...s }) => s, /answered 401/],
      [
        'a password file that is not there',
        (s) => ({ ...s, basicAuth: { username: 'gate', passwordFile: '/nonexistent' } }),
        /cannot read prometheus\.basicAuth\.passwordFile \/nonexistent/,
      ],
      ['a server certificate no CA vouches for', ({ caFile: _c, ...s }) => s, /self.signed certificate/],
    ])('fails with %s', async (_name, change, message) => {
      await expect(queryPrometheus(change(settings), 'temperature_celsius', 10_000)).rejects.toThrow(message);
    });

    it('skips the certificate check when told to', async () => {
      const { caFile: _c, ...rest } = settings;
      expect(
        await queryPrometheus({ ...rest, insecureSkipVerify: true }, 'temperature_celsius', 10_000),
      ).toBe(21.5);
    });
  });

  describe('behind a gateway that wants a bearer token (as Mimir or an auth proxy do)', () => {
    let gateway: http.Server;
    let gatewayUrl: string;
    const tokenFile = () => join(prom.dir, 'token');

    beforeAll(async () => {
      writeFileSync(tokenFile(), 't0ken\n');
      const ca = readFileSync(settings.caFile!, 'utf8');
      const basic = `Basic ${Buffer.from(`gate:${PASSWORD}`).toString('base64')}`;
      // Forwards /prometheus/api/v1/… to the real Prometheus, only with the right token.
      gateway = http.createServer((req, res) => {
        if (req.headers.authorization !== 'Bearer t0ken' || !req.url?.startsWith('/prometheus/')) {
          res.writeHead(401).end('unauthorized');
          return;
        }
        const upstream = https.request(
          `${settings.url}${req.url.slice('/prometheus'.length)}`,
          {
            method: req.method,
            ca,
            headers: { 'content-type': req.headers['content-type'] ?? '', authorization: basic },
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        req.pipe(upstream);
      });
      await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
      gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/prometheus`;
    });
    afterAll(() => new Promise<void>((resolve) => gateway?.close(() => resolve())));

    it("sends the token from its file, under the URL's path", async () => {
      expect(
        await queryPrometheus(
          { url: gatewayUrl, bearerTokenFile: tokenFile() },
          'temperature_celsius',
          10_000,
        ),
      ).toBe(21.5);
    });

    it('reads the file again before each query (a rotated token is picked up)', async () => {
      writeFileSync(tokenFile(), 'rotated');
      try {
        await expect(
          queryPrometheus({ url: gatewayUrl, bearerTokenFile: tokenFile() }, 'temperature_celsius', 10_000),
        ).rejects.toThrow(
          /answered 401: it refused the credentials \(prometheus\.bearerTokenFile or prometheus\.basicAuth\): unauthorized/,
        );
      } finally {
        writeFileSync(tokenFile(), 't0ken');
      }
    });
  });

  describe('gates on a live Prometheus', () => {
    function monitorOf(raw: unknown[], nodesInFlight: string[] = []) {
      const { gates, errors } = validateGates(raw, 'gates', { prometheusConfigured: true });
      expect(errors).toEqual([]);
      const evaluations: GateEvaluation[] = [];
      const monitor = createGateMonitor(gates, {
        clock: new RealClock(),
        kc: new KubeConfig(),
        runId: 'run-1',
        prometheus: settings,
        nodesInFlight: () => nodesInFlight,
        onEvaluation: (e) => evaluations.push(e),
      });
      return { monitor, evaluations };
    }

    it('leaves the nodes in flight out of node readiness (M2)', async () => {
      const steady = monitorOf([{ template: 'M2', provider: 'prometheus' }], ['node-c']);
      expect(await steady.monitor.check()).toEqual({ action: 'continue' });
      expect(steady.evaluations[0]).toMatchObject({
        value: 1,
        query: expect.stringContaining('node!~"node-c"'),
      });
      const all = monitorOf([{ template: 'M2', provider: 'prometheus' }]);
      expect(await all.monitor.check()).toMatchObject({ action: 'pause', gate: 'M2' });
      expect(all.evaluations[0]!.value).toBeCloseTo(2 / 3, 9);
    });

    it('leaves a node out of node readiness for a while after it left the flight: Prometheus still holds its NotReady (M2)', async () => {
      // node-c's last sample is NotReady, as a node's is just after its upgrade while the next scrape is due.
      const clock = new VirtualClock();
      const leftAt = clock.now();
      const measureAt = async () => {
        const { gates } = validateGates([{ template: 'M2', provider: 'prometheus' }], 'gates', {
          prometheusConfigured: true,
        });
        const evaluations: GateEvaluation[] = [];
        const monitor = createGateMonitor(gates, {
          clock,
          kc: new KubeConfig(),
          runId: 'run-1',
          prometheus: settings,
          nodesInFlight: () => [],
          nodesLeftFlight: () => new Map([['node-c', leftAt]]),
          onEvaluation: (e) => evaluations.push(e),
        });
        return { decision: await monitor.check(), evaluation: evaluations[0]! };
      };
      await clock.advance(PROMETHEUS_LAG_MS - 1_000);
      const soon = await measureAt();
      expect(soon.decision).toEqual({ action: 'continue' });
      expect(soon.evaluation).toMatchObject({ value: 1, query: expect.stringContaining('node!~"node-c"') });
      // Long enough after it left that Prometheus has scraped it since: a NotReady now is a real one.
      await clock.advance(1_000);
      const later = await measureAt();
      expect(later.decision).toMatchObject({ action: 'pause', gate: 'M2' });
      expect(later.evaluation.query).toContain('node!~""');
      expect(later.evaluation.value).toBeCloseTo(2 / 3, 9);
    });

    it('stops the run when the query breaks', async () => {
      const { monitor, evaluations } = monitorOf([
        {
          name: 'typo',
          provider: 'prometheus',
          query: 'sum(rate(http_requests_total[1m])',
          success: 'result > 0',
        },
      ]);
      expect(await monitor.check()).toMatchObject({ action: 'pause', gate: 'typo' });
      expect(evaluations[0]).toMatchObject({
        verdict: 'failure',
        error: expect.stringContaining('bad_data'),
      });
    });

    it('pauses on a gate whose metric is not there (no data is not a pass)', async () => {
      const { monitor, evaluations } = monitorOf([{ template: 'M6' }]);
      expect(await monitor.check()).toMatchObject({ action: 'pause', gate: 'M6' });
      expect(evaluations[0]).toMatchObject({
        verdict: 'inconclusive',
        error: 'the query returned no series',
      });
    });

    it('records the 5xx baseline, then rolls back when errors climb (M5)', async () => {
      const { monitor, evaluations } = monitorOf([
        { template: 'M5', args: { service: 'shop', window: '5s' }, onFailure: 'rollback' },
      ]);
      const baselines = await monitor.baseline({});
      expect(baselines).toEqual({ 'M5-shop': 0 });
      expect(await monitor.check()).toEqual({ action: 'continue' });
      rates.errors = 20; // one request in six fails
      try {
        // Waits (wall time, generous bound) until Prometheus has scraped the errors into the 5 s window.
        await waitUntil(() =>
          queryPrometheus(settings, 'sum(rate(http_requests_total{code="500"}[5s]))', 5_000).then(
            (v) => v > 10,
            () => false,
          ),
        );
        const fresh = monitorOf([
          { template: 'M5', args: { service: 'shop', window: '5s' }, onFailure: 'rollback' },
        ]);
        await fresh.monitor.baseline(baselines);
        expect(await fresh.monitor.check()).toMatchObject({ action: 'rollback', gate: 'M5-shop' });
        expect(fresh.evaluations[0]).toMatchObject({ verdict: 'failure', baseline: 0 });
        expect(fresh.evaluations[0]!.value).toBeGreaterThan(0.002);
      } finally {
        rates.errors = 0;
      }
      expect(evaluations[0]).toMatchObject({ verdict: 'success', value: 0, baseline: 0 });
    });

    it('averages a baseline over its window', async () => {
      const { monitor } = monitorOf([
        {
          name: 'temp',
          provider: 'prometheus',
          query: 'temperature_celsius',
          success: 'result < 1.1 * baseline',
          baselineWindow: '10m',
        },
      ]);
      expect(await monitor.baseline({})).toEqual({ temp: 21.5 });
    });

    it('judges the multi-window burn rate of an SLO', async () => {
      // cart fails 1 % of its requests in every window: a burn of about 1 against 99 %, 10 against 99.9 %.
      const gate = (name: string, objective: string) => ({
        template: 'burn-rate',
        name,
        args: { objective, service: 'cart', sloWindow: '1d', threshold: 2 },
      });
      const relaxed = monitorOf([gate('slo-99', '99%')]);
      const strict = monitorOf([gate('slo-999', '99.9%')]);
      expect(await strict.monitor.check()).toMatchObject({ action: 'pause', gate: 'slo-999' });
      expect(strict.evaluations[0]!.value).toBeGreaterThan(5);
      expect(strict.evaluations[0]!.query).toContain('[{window}]');
      expect(await relaxed.monitor.check()).toEqual({ action: 'continue' });
      expect(relaxed.evaluations[0]!.value).toBeGreaterThan(0.5);
      expect(relaxed.evaluations[0]!.value).toBeLessThan(2);
    });
  });
});

/** Polls `accept` every 250 ms; the 60 s bound is generous for a shared machine. */
async function waitUntil(accept: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await accept())) {
    if (Date.now() > deadline) throw new Error('the condition did not hold within 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }
}
