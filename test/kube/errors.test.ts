import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import {
  ClusterCertificateError,
  ClusterUnreachableError,
  ForbiddenError,
  kubeErrorOf,
  NotFoundError,
  RequestRejectedError,
  ServerUnavailableError,
  UnauthorizedError,
  withApiRetries,
} from '../../src/kube/errors.ts';

const context = { server: 'https://10.0.0.1:6443', operation: 'listing pods' };
const status = (code: number, message: string, extra: Record<string, unknown> = {}) =>
  new ApiException(
    code,
    'failed',
    JSON.stringify({ kind: 'Status', code, message, ...extra }),
    (extra.headers as Record<string, string>) ?? {},
  );
const network = (code: string) =>
  Object.assign(new Error(`request failed, reason: ${code}`), { code, type: 'system' });

describe('kubeErrorOf', () => {
  it.each([
    [
      network('ECONNREFUSED'),
      ClusterUnreachableError,
      true,
      'cannot reach the cluster at https://10.0.0.1:6443 (connection refused): is it running, and is --context right?',
    ],
    [
      network('ENOTFOUND'),
      ClusterUnreachableError,
      false,
      'cannot reach the cluster at https://10.0.0.1:6443 (host not found): is it running, and is --context right?',
    ],
    [
      network('ETIMEDOUT'),
      ClusterUnreachableError,
      true,
      'cannot reach the cluster at https://10.0.0.1:6443 (timed out): is it running, and is --context right?',
    ],
    [
      network('DEPTH_ZERO_SELF_SIGNED_CERT'),
      ClusterCertificateError,
      false,
      'cannot trust the cluster at https://10.0.0.1:6443 (its certificate is not signed by the kubeconfig CA): check certificate-authority-data in the kubeconfig',
    ],
    [
      status(401, 'Unauthorized'),
      UnauthorizedError,
      false,
      'the cluster at https://10.0.0.1:6443 did not accept our credentials while listing pods (401 Unauthorized): check the user in the kubeconfig, or log in again',
    ],
    [
      status(403, 'pods is forbidden: User "bob" cannot list resource "pods"'),
      ForbiddenError,
      false,
      'not allowed: listing pods on https://10.0.0.1:6443 was forbidden (403: pods is forbidden: User "bob" cannot list resource "pods"); midflight needs read access to nodes, pods, workloads, budgets, webhooks, CRDs and secrets',
    ],
    [
      status(404, 'the server could not find the requested resource'),
      NotFoundError,
      false,
      'listing pods on https://10.0.0.1:6443: not found (404: the server could not find the requested resource)',
    ],
    [
      status(503, 'etcdserver: leader changed'),
      ServerUnavailableError,
      true,
      'the cluster at https://10.0.0.1:6443 is failing while listing pods (HTTP 503: etcdserver: leader changed): try again later, or check the API server',
    ],
    [
      status(429, 'too many requests'),
      ServerUnavailableError,
      true,
      'the cluster at https://10.0.0.1:6443 is throttling us while listing pods (HTTP 429: too many requests): try again later, or check the API server',
    ],
    [
      status(410, 'continue token expired', { reason: 'Expired' }),
      RequestRejectedError,
      false,
      'listing pods on https://10.0.0.1:6443 was refused (HTTP 410: continue token expired)',
    ],
  ])('%#: maps to its class with a one-line message', (err, type, retryable, message) => {
    const mapped = kubeErrorOf(err, context);
    expect(mapped).toBeInstanceOf(type);
    expect(mapped.retryable).toBe(retryable);
    expect(mapped.message).toBe(message);
    expect(mapped.message).not.toContain('\n');
    expect(mapped).toMatchObject(context);
  });

  it('reads Retry-After from the header, else from the Status details', () => {
    const fromHeader = kubeErrorOf(status(429, 'slow down', { headers: { 'retry-after': '3' } }), context);
    expect(fromHeader).toMatchObject({ retryAfterSeconds: 3 });
    const fromBody = kubeErrorOf(status(429, 'slow down', { details: { retryAfterSeconds: 2 } }), context);
    expect(fromBody).toMatchObject({ retryAfterSeconds: 2 });
  });
});

describe('withApiRetries', () => {
  it('retries 5xx with backoff, honouring Retry-After, then succeeds', async () => {
    const clock = new VirtualClock(0);
    const calls: number[] = [];
    const result = withApiRetries(
      context,
      async () => {
        calls.push(clock.now());
        if (calls.length === 1) throw status(503, 'busy');
        if (calls.length === 2) throw status(429, 'slow down', { headers: { 'retry-after': '5' } });
        return 'ok';
      },
      { clock, baseDelayMs: 100 },
    );
    await clock.advance(10_000);
    await expect(result).resolves.toBe('ok');
    const [first, second, third] = calls as [number, number, number];
    // The backoff, ±20% so that parallel callers spread out; then the 5 s the server asked for.
    expect(second - first).toBeGreaterThanOrEqual(80);
    expect(second - first).toBeLessThanOrEqual(120);
    expect(third - second).toBe(5_000);
  });

  it('gives up after the attempts, saying how many', async () => {
    const clock = new VirtualClock(0);
    const result = withApiRetries(context, async () => Promise.reject(status(500, 'boom')), {
      clock,
      attempts: 3,
      baseDelayMs: 10,
    }).catch((e: unknown) => e);
    await clock.advance(1_000);
    const failure = await result;
    expect(failure).toBeInstanceOf(ServerUnavailableError);
    expect((failure as Error).message).toContain('(HTTP 500: boom) after 3 attempts');
  });

  it.each([
    ['an unknown host', network('ENOTFOUND')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'items')")],
  ])('does not retry what a retry cannot fix: %s', async (_, err) => {
    let calls = 0;
    const failure = await withApiRetries(
      context,
      async () => {
        calls++;
        throw err;
      },
      { clock: new VirtualClock(0) },
    ).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ClusterUnreachableError);
    expect(calls).toBe(1);
  });

  it('retries a refused connection, as an API server refuses them while it restarts', async () => {
    const clock = new VirtualClock(0);
    let calls = 0;
    const result = withApiRetries(
      context,
      async () => {
        if (++calls < 3) throw network('ECONNREFUSED');
        return 'ok';
      },
      { clock, baseDelayMs: 100 },
    );
    await clock.advance(10_000);
    await expect(result).resolves.toBe('ok');
    expect(calls).toBe(3);
  });
});
