import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { Sandbox, type SandboxStartOptions } from '../../src/sandbox/sandbox.ts';

const run = promisify(execFile);

export interface RunningSandbox {
  box: Sandbox;
  kubeconfigPath: string;
  kubeConfig(): KubeConfig;
  kubectl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }>;
  admin<T>(path: string): Promise<T>;
  /**
   * A raw HTTP request with the kubeconfig's credentials: `body` strings are sent as written (objects as
   * JSON), with the given headers; the answer is never thrown, whatever its status.
   */
  request(method: string, path: string, options?: RawRequestOptions): Promise<RawAnswer>;
  stop(): Promise<void>;
}

export interface RawRequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RawAnswer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: tests assert on fields of arbitrary JSON bodies.
  json(): any;
}

/**
 * Starts a sandbox the way a user does (TLS and a bearer token by default), writes its kubeconfig to a
 * temporary file and waits until the cluster has settled.
 */
export async function startSandbox(options: Partial<SandboxStartOptions> = {}): Promise<RunningSandbox> {
  const box = await Sandbox.start({
    scenario: 'demo',
    timeScale: 20,
    tls: true,
    token: 'test-token',
    ...options,
  });
  const dir = mkdtempSync(join(tmpdir(), 'midflight-e2e-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, box.kubeconfig(), { mode: 0o600 });
  await box.waitUntilSettled();
  return {
    box,
    kubeconfigPath,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      return kc;
    },
    async kubectl(...args) {
      try {
        const { stdout, stderr } = await run('kubectl', ['--kubeconfig', kubeconfigPath, ...args], {
          timeout: 120_000,
        });
        return { stdout, stderr, code: 0 };
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; code?: number };
        return {
          stdout: e.stdout ?? '',
          stderr: e.stderr ?? String(err),
          code: typeof e.code === 'number' ? e.code : 1,
        };
      }
    },
    async admin<T>(path: string) {
      // The admin API is served beside the Kubernetes API: same address, same token.
      const { requestRaw } = await import('../../src/kube/client.ts');
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      const res = await requestRaw(kc, 'GET', path);
      if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${res.body}`);
      return JSON.parse(res.body) as T;
    },
    async request(method, path, options = {}) {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      return rawRequest(kc, method, path, options);
    },
    async stop() {
      await box.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One HTTP request to the kubeconfig's cluster, with its credentials and CA; never throws on a status. */
export async function rawRequest(
  kc: KubeConfig,
  method: string,
  path: string,
  options: RawRequestOptions = {},
): Promise<RawAnswer> {
  const server = kc.getCurrentCluster()!.server;
  const url = new URL(path, server);
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  const reqOptions: https.RequestOptions = { method, headers };
  await kc.applyToHTTPSOptions(reqOptions);
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      (reqOptions.headers as Record<string, string>)['content-type'] = 'application/json';
    // IMPORTANT: Node sends a DELETE body without a length unless told, which no server can parse.
    (reqOptions.headers as Record<string, string>)['content-length'] = String(Buffer.byteLength(payload));
  }
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, reqOptions, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers, json: () => JSON.parse(body) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}
