/**
 * The GateMonitor's judgement on the run's (virtual) clock: intervals, limits, actions, counts, baselines.
 * Gates measure through the real http and command providers: a small HTTP server in the test answers
 * with whatever value the test sets, and scripts run through /bin/sh.
 */
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/index.ts';
import {
  createGateMonitor,
  GateBaselineError,
  GateConfigError,
  type GateEvaluation,
  type GateSpec,
  validateGates,
} from '../../src/gates/index.ts';

/** What each path of the value server answers: a status and a body. */
const answers = new Map<string, { status: number; body: string }>();
const hits = new Map<string, number>();
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const answer = answers.get(path) ?? { status: 404, body: 'no such value' };
    res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const setValue = (path: string, body: string, status = 200) => answers.set(path, { status, body });

/** Gate specs as the policy would give them (validated, defaults filled). */
function specs(raw: unknown[]): GateSpec[] {
  const result = validateGates(raw, 'gates', { prometheusConfigured: false });
  expect(result.errors).toEqual([]);
  return result.gates;
}

function monitorOf(raw: unknown[], extra: { nodesInFlight?: () => string[] } = {}) {
  const clock = new VirtualClock();
  const evaluations: GateEvaluation[] = [];
  const monitor = createGateMonitor(specs(raw), {
    clock,
    kc: new KubeConfig(),
    runId: 'run-test',
    onEvaluation: (e) => evaluations.push(e),
    workDir: mkdtempSync(join(tmpdir(), 'midflight-gate-test-')),
    ...extra,
  });
  return { clock, monitor, evaluations };
}

const httpGate = (name: string, path: string, more: Record<string, unknown> = {}) => ({
  name,
  provider: 'http',
  query: `${base}${path}`,
  success: 'result < 10',
  ...more,
});

describe('the gate monitor', () => {
  it('measures each gate when its interval has come on the run clock, in the order of the policy', async () => {
    setValue('/fast', '1');
    setValue('/slow', '2');
    const { clock, monitor, evaluations } = monitorOf([
      httpGate('fast', '/fast', { interval: '1m' }),
      httpGate('slow', '/slow', { interval: '5m' }),
    ]);
    const seen = () => evaluations.map((e) => `${e.gate}@${(e.time - Date.UTC(2026, 0, 1)) / 60_000}m`);
    expect(await monitor.check()).toEqual({ action: 'continue' });
    await clock.advance(30_000);
    await monitor.check();
    expect(seen()).toEqual(['fast@0m', 'slow@0m']);
    for (let minute = 1; minute <= 5; minute++) {
      await clock.advance(minute === 1 ? 30_000 : 60_000);
      await monitor.check();
    }
    expect(seen()).toEqual([
      'fast@0m',
      'slow@0m',
      'fast@1m',
      'fast@2m',
      'fast@3m',
      'fast@4m',
      'fast@5m',
      'slow@5m',
    ]);
    expect(evaluations[0]).toEqual({
      gate: 'fast',
      time: Date.UTC(2026, 0, 1),
      query: `${base}/fast`,
      value: 1,
      verdict: 'success',
    });
  });

  it('tolerates failureLimit failed measurements and acts on the next one', async () => {
    setValue('/errors', '50');
    const { clock, monitor, evaluations } = monitorOf([
      httpGate('errors', '/errors', { failureLimit: 2, onFailure: 'rollback' }),
    ]);
    const decisions = [];
    for (let i = 0; i < 3; i++) {
      decisions.push(await monitor.check());
      await clock.advance(60_000);
    }
    expect(decisions.map((d) => d.action)).toEqual(['continue', 'continue', 'rollback']);
    expect(decisions[2]).toEqual({
      action: 'rollback',
      gate: 'errors',
      reason:
        'gate errors: 3 failed measurements (failureLimit 2); last: measured 50 against success "result < 10"',
    });
    expect(evaluations.map((e) => e.verdict)).toEqual(['failure', 'failure', 'failure']);
  });

  it('keeps its decision once a gate has tripped: the run must not carry on by itself', async () => {
    setValue('/flaky', '50');
    const { clock, monitor, evaluations } = monitorOf([httpGate('flaky', '/flaky')]);
    expect((await monitor.check()).action).toBe('pause');
    setValue('/flaky', '1');
    await clock.advance(60_000);
    expect((await monitor.check()).action).toBe('pause');
    expect(evaluations).toHaveLength(1);
  });

  it.each([
    ['an empty answer', '', 200, 'inconclusive', 'the answer of'],
    ['NaN (nothing to divide by)', 'NaN', 200, 'inconclusive', 'is NaN'],
    ['a missing JSON field', '{"status": {}}', 200, 'inconclusive', 'has no field status.ratio'],
    ['an error status', 'boom', 500, 'failure', 'answered 500: boom'],
    ['something that is not a number', 'green', 200, 'failure', 'is "green", not a number'],
  ])('counts %s against the gate, never for it', async (_name, body, status, verdict, error) => {
    const path = `/against-${verdict}-${status}-${body.length}`;
    setValue(path, body, status);
    const field = body.startsWith('{') ? { field: 'status.ratio' } : {};
    const { monitor, evaluations } = monitorOf([
      httpGate('broken', path, { success: 'result >= 0', ...field }),
    ]);
    const decision = await monitor.check();
    expect(evaluations[0]).toMatchObject({ verdict, error: expect.stringContaining(error) });
    expect(evaluations[0]!.value).toBeUndefined();
    // Default onFailure and onInconclusive: pause.
    expect(decision).toMatchObject({ action: 'pause', gate: 'broken' });
  });

  it('pauses on inconclusive measurements beyond inconclusiveLimit, by default', async () => {
    setValue('/between', '15');
    const { clock, monitor } = monitorOf([
      httpGate('between', '/between', {
        success: 'result < 10',
        failure: 'result > 20',
        inconclusiveLimit: 1,
      }),
    ]);
    expect((await monitor.check()).action).toBe('continue');
    await clock.advance(60_000);
    expect(await monitor.check()).toEqual({
      action: 'pause',
      gate: 'between',
      reason: expect.stringContaining('2 inconclusive measurements (inconclusiveLimit 1)'),
    });
  });

  it('prefers a rollback over a pause asked for in the same check', async () => {
    setValue('/bad', '50');
    const { monitor } = monitorOf([
      httpGate('pausing', '/bad'),
      httpGate('rolling-back', '/bad', { onFailure: 'rollback' }),
    ]);
    expect(await monitor.check()).toMatchObject({ action: 'rollback', gate: 'rolling-back' });
  });

  it('shares a check in progress with whoever else asks meanwhile', async () => {
    setValue('/shared', '1');
    const { monitor, evaluations } = monitorOf([httpGate('shared', '/shared')]);
    const decisions = await Promise.all([monitor.check(), monitor.check(), monitor.check()]);
    expect(decisions).toEqual([{ action: 'continue' }, { action: 'continue' }, { action: 'continue' }]);
    expect(evaluations).toHaveLength(1);
  });

  it('stops measuring a gate after count measurements', async () => {
    setValue('/counted', '1');
    const { clock, monitor, evaluations } = monitorOf([httpGate('counted', '/counted', { count: 2 })]);
    for (let i = 0; i < 5; i++) {
      await monitor.check();
      await clock.advance(60_000);
    }
    expect(evaluations).toHaveLength(2);
  });

  it('records a baseline before the first node and judges against it', async () => {
    setValue('/latency', '0.1');
    const { monitor, evaluations } = monitorOf([
      httpGate('latency', '/latency', { success: 'result < 1.2 * baseline' }),
      httpGate('plain', '/latency', { success: 'result < 1' }),
    ]);
    expect(await monitor.baseline({})).toEqual({ latency: 0.1 });
    setValue('/latency', '0.15');
    expect(await monitor.check()).toMatchObject({ action: 'pause', gate: 'latency' });
    expect(evaluations[0]).toMatchObject({ gate: 'latency', value: 0.15, baseline: 0.1, verdict: 'failure' });
  });

  it('keeps a baseline it is given (a resumed run compares with the same one)', async () => {
    setValue('/resumed', '0.15');
    hits.delete('/resumed');
    const { monitor } = monitorOf([httpGate('resumed', '/resumed', { success: 'result < 1.2 * baseline' })]);
    expect(await monitor.baseline({ resumed: 0.2 })).toEqual({ resumed: 0.2 });
    expect(hits.get('/resumed')).toBeUndefined();
    expect(await monitor.check()).toEqual({ action: 'continue' });
  });

  it('refuses to start without a baseline it cannot measure', async () => {
    setValue('/no-baseline', 'oops', 503);
    const { monitor } = monitorOf([httpGate('down', '/no-baseline', { success: 'result < 2 * baseline' })]);
    const error = await monitor.baseline({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GateBaselineError);
    expect((error as Error).message).toContain('cannot record the baseline of gate down (GET ');
  });

  it('refuses prometheus gates without a Prometheus to ask', () => {
    const [gate] = validateGates([{ template: 'M6' }], 'gates', { prometheusConfigured: true }).gates;
    expect(() =>
      createGateMonitor([gate!], { clock: new VirtualClock(), kc: new KubeConfig(), runId: 'r' }),
    ).toThrow(
      new GateConfigError(
        'the health gates cannot run: policy.gates[0].provider: prometheus gates need `prometheus.url` in the policy (the server, Thanos, Mimir or VictoriaMetrics to query)',
      ),
    );
  });

  it('checks the specs it is given, and reads the `{}` of a plan written before gates as none', async () => {
    const deps = { clock: new VirtualClock(), kc: new KubeConfig(), runId: 'r' };
    expect(() => createGateMonitor([{ name: 'x' } as GateSpec], deps)).toThrow(
      'the health gates cannot run: policy.gates[0].provider: is required without a template',
    );
    const none = createGateMonitor({} as unknown as GateSpec[], deps);
    expect(await none.baseline({})).toEqual({});
    expect(await none.check()).toEqual({ action: 'continue' });
  });
});

describe('command gates', () => {
  it.each([
    ['the last line of its output', 'echo checking >&2; echo 3; echo 7', undefined, 7],
    ['a JSON field', `echo '{"nodes": [{"up": 3}, {"up": 5}]}'`, 'nodes[1].up', 5],
    ['true as 1', `echo '{"green": true}'`, 'green', 1],
    [
      'its environment',
      'echo "$MIDFLIGHT_NODES_IN_FLIGHT" | wc -w; test "$MIDFLIGHT_RUN_ID" = run-test',
      undefined,
      2,
    ],
  ])('reads %s', async (_name, script, field, value) => {
    const { monitor, evaluations } = monitorOf(
      [{ name: 'cmd', provider: 'command', query: script, field, success: 'result >= 0' }],
      { nodesInFlight: () => ['node-a', 'node-b'] },
    );
    await monitor.check();
    expect(evaluations[0]).toMatchObject({ value, verdict: 'success' });
  });

  it('fails a measurement whose command fails, with what it said', async () => {
    const { monitor, evaluations } = monitorOf([
      {
        name: 'nodetool',
        provider: 'command',
        query: 'echo "node 10.0.0.3 is DN" >&2; exit 3',
        success: 'result == 1',
      },
    ]);
    expect((await monitor.check()).action).toBe('pause');
    expect(evaluations[0]).toMatchObject({
      verdict: 'failure',
      error: 'the command exited with status 3: node 10.0.0.3 is DN',
    });
  });
});
