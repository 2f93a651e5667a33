/**
 * The http provider against a real local HTTPS server (a self-signed certificate, as a data cluster's own
 * health endpoint often has), which answers only with the right Authorization and X-Scope-OrgID headers: the
 * gate's `http.headers` come from a file, an environment variable or the policy, its `caFile` trusts the
 * server (or `insecureSkipVerify` skips the check), and every way it can go wrong is a failed measurement
 * naming what to fix, never showing a secret.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/index.ts';
import { createGateMonitor, type GateEvaluation, validateGates } from '../../src/gates/index.ts';
import { selfSignedCertificate } from '../../src/sandbox/api/tls-certificate.ts';

const TOKEN = 'Bearer s3cret-es-token';
const ENV = 'MIDFLIGHT_TEST_ES_AUTH';

let server: https.Server;
let url: string;
let dir: string;
/** The headers of the last request the server got. */
let lastHeaders: Record<string, string | string[] | undefined> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'midflight-http-gates-'));
  const cert = await selfSignedCertificate();
  writeFileSync(join(dir, 'ca.pem'), cert.certPem);
  writeFileSync(join(dir, 'auth'), `${TOKEN}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'wrong-auth'), 'Bearer not-the-token\n', { mode: 0o600 });
  server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    lastHeaders = req.headers;
    if (req.headers.authorization !== TOKEN || req.headers['x-scope-orgid'] !== 'shop')
      return res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized');
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: 'green', active_shards_percent_as_number: 100 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Note: the certificate names 127.0.0.1 (the sandbox's own serving certificate does).
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/_cluster/health`;
});

afterAll(async () => {
  delete process.env[ENV];
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** One measurement of an http gate with `http` settings, as a run takes it. */
async function measure(http: Record<string, unknown>): Promise<GateEvaluation> {
  const { gates, errors } = validateGates(
    [
      {
        name: 'es-shards',
        provider: 'http',
        query: url,
        field: 'active_shards_percent_as_number',
        success: 'result == 100',
        timeout: '10s',
        http,
      },
    ],
    'gates',
  );
  expect(errors).toEqual([]);
  const evaluations: GateEvaluation[] = [];
  const monitor = createGateMonitor(gates, {
    clock: new VirtualClock(),
    kc: new KubeConfig(),
    runId: 'run-http',
    onEvaluation: (e) => evaluations.push(e),
  });
  await monitor.check();
  expect(evaluations).toHaveLength(1);
  // Whatever happened, no secret is in what the run stores, logs and shows.
  expect(JSON.stringify(evaluations)).not.toContain('s3cret');
  return evaluations[0]!;
}

const ORG = { 'X-Scope-OrgID': 'shop' };

describe('http gates: headers and TLS', () => {
  it('sends a header read from a file and trusts the server through caFile', async () => {
    const e = await measure({
      headers: { Authorization: { file: join(dir, 'auth') }, ...ORG },
      caFile: join(dir, 'ca.pem'),
    });
    expect(e).toMatchObject({ verdict: 'success', value: 100, query: url });
    // The file's final line break is no part of the value.
    expect(lastHeaders.authorization).toBe(TOKEN);
  });

  it('sends a header from an environment variable, and skips the certificate check when told to', async () => {
    process.env[ENV] = TOKEN;
    const e = await measure({
      headers: { Authorization: { env: ENV }, 'X-Scope-OrgID': { value: 'shop' } },
      insecureSkipVerify: true,
    });
    expect(e).toMatchObject({ verdict: 'success', value: 100 });
  });

  it.each([
    [
      'a server its CA does not vouch for',
      () => ({ headers: { Authorization: { file: join(dir, 'auth') }, ...ORG } }),
      /self[- ]signed certificate/,
    ],
    [
      'credentials the server refuses',
      () => ({
        headers: { Authorization: { file: join(dir, 'wrong-auth') }, ...ORG },
        insecureSkipVerify: true,
      }),
      /answered 401: it refused the request's credentials \(http\.headers: Authorization, X-Scope-OrgID\)$/,
    ],
    [
      'no credentials at all',
      () => ({ caFile: join(dir, 'ca.pem') }),
      /answered 401: it refused the request's credentials \(the gate sends no http\.headers\)$/,
    ],
    [
      'a header file that is not there',
      () => ({ headers: { Authorization: { file: join(dir, 'missing') } }, insecureSkipVerify: true }),
      /^cannot read http\.headers\.Authorization file .*missing: ENOENT/,
    ],
    [
      'an environment variable that is not set',
      () => ({ headers: { Authorization: { env: `${ENV}_UNSET` } }, insecureSkipVerify: true }),
      new RegExp(
        `^http\\.headers\\.Authorization: the environment variable ${ENV}_UNSET is not set \\(or empty\\)$`,
      ),
    ],
    [
      'a CA file that is not there',
      () => ({ caFile: join(dir, 'no-ca.pem') }),
      /^cannot read http\.caFile .*no-ca\.pem: ENOENT/,
    ],
  ])('fails the measurement on %s, saying what to fix', async (_what, http, error) => {
    const e = await measure(http());
    expect(e.verdict).toBe('failure');
    expect(e.value).toBeUndefined();
    expect(e.error).toMatch(error);
  });
});

describe('http gates: the policy', () => {
  it.each([
    [
      { headers: { Authorization: 'Bearer abc' } },
      'gates[0].http.headers.Authorization',
      /a credential must not be written in the policy \(plans copy it\): use \{ file: PATH \}/,
    ],
    [
      { headers: { cookie: { value: 'session=1' } } },
      'gates[0].http.headers.cookie',
      /a credential must not be written in the policy/,
    ],
    [{ headers: { 'Bad Header': 'x' } }, 'gates[0].http.headers.Bad Header', /is not a header name/],
    [
      { headers: { 'X-Token': { secret: 'a' } } },
      'gates[0].http.headers.X-Token',
      /must be a string, \{ value: TEXT \}, \{ file: PATH \}/,
    ],
    [{ headers: { 'X-Token': { env: 'not a name' } } }, 'gates[0].http.headers.X-Token', /must be a string/],
    [{ insecureSkipVerify: 'yes' }, 'gates[0].http.insecureSkipVerify', /must be true or false/],
    [{ caFile: '' }, 'gates[0].http.caFile', /must be a non-empty string/],
    [{ proxy: 'x' }, 'gates[0].http.proxy', /unknown field \(known: headers, caFile, insecureSkipVerify\)/],
  ])('refuses http %j at %s', (http, field, message) => {
    const { errors } = validateGates(
      [{ name: 'g', provider: 'http', query: 'https://es:9200/', success: 'result == 1', http }],
      'gates',
    );
    expect(errors).toEqual([{ field, message: expect.stringMatching(message) }]);
  });

  it('refuses http settings on a gate that is not an http gate', () => {
    const { errors } = validateGates(
      [{ name: 'g', provider: 'command', query: 'echo 1', success: 'result == 1', http: { caFile: '/ca' } }],
      'gates',
    );
    expect(errors).toEqual([
      {
        field: 'gates[0].http',
        message: 'only http gates send a request of their own (prometheus gates: see `prometheus`)',
      },
    ]);
  });

  it('keeps them in the plan as they were given (paths and variable names, no secret), valid input again', () => {
    const http = {
      headers: {
        Authorization: { file: '/etc/es/auth' },
        'X-Api-Key': { env: 'ES_KEY' },
        'X-Scope-OrgID': 'shop',
      },
      caFile: '/etc/es/ca.pem',
    };
    const first = validateGates(
      [{ name: 'g', provider: 'http', query: 'https://es:9200/', success: 'result == 1', http }],
      'gates',
    );
    expect(first.errors).toEqual([]);
    expect(first.gates[0]!.http).toEqual({
      headers: {
        Authorization: { file: '/etc/es/auth' },
        'X-Api-Key': { env: 'ES_KEY' },
        'X-Scope-OrgID': { value: 'shop' },
      },
      caFile: '/etc/es/ca.pem',
    });
    expect(validateGates(first.gates, 'gates')).toEqual(first);
  });
});
