import { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../../src/core/clock.ts';
import { ApiServer, type ApiServerOptions } from '../../../src/sandbox/api/server.ts';
import type { SandboxContext } from '../../../src/sandbox/context.ts';
import { createSandboxContext } from '../../../src/sandbox/create-context.ts';
import type { KubeObject } from '../../../src/sandbox/store/types.ts';

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON response bodies.
export type Json = any;

/** A response body as JSON (typed loosely: tests assert on its fields). */
export async function readJson(res: Response): Promise<Json> {
  return res.json();
}

export interface Harness {
  ctx: SandboxContext;
  server: ApiServer;
  url: string;
  caCertPem?: string;
  kubeConfig(): KubeConfig;
  /** A raw HTTP request to the server; `body` objects are sent as JSON unless a content type says otherwise. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export interface HarnessOptions extends Partial<Omit<ApiServerOptions, 'version'>> {
  clock?: Clock;
  historySize?: number;
  seed?: number;
}

export const TEST_VERSION = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.2',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-06-17T18:24:11Z',
  goVersion: 'go1.24.4',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const ctx = createSandboxContext({
    clock: options.clock,
    historySize: options.historySize,
    seed: options.seed,
  });
  const server = new ApiServer(ctx, { ...options, version: () => TEST_VERSION });
  const { url, caCertPem } = await server.listen();
  const token = options.token;
  return {
    ctx,
    server,
    url,
    caCertPem,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'sandbox', server: url, skipTLSVerify: true }],
        users: [{ name: 'tester', ...(token ? { token } : {}) }],
        contexts: [{ name: 'sandbox', cluster: 'sandbox', user: 'tester' }],
        currentContext: 'sandbox',
      });
      return kc;
    },
    request(method, path, body, headers = {}) {
      const allHeaders: Record<string, string> = { ...headers };
      if (token && !allHeaders.Authorization) allHeaders.Authorization = `Bearer ${token}`;
      let payload: string | undefined;
      if (body !== undefined) {
        payload = typeof body === 'string' ? body : JSON.stringify(body);
        allHeaders['Content-Type'] ??= 'application/json';
      }
      return fetch(url + path, { method, headers: allHeaders, body: payload });
    },
    close: () => server.close(),
  };
}

/** Objects seeded straight into the store (as the simulation does), for tests that read them over HTTP. */
export function seedNamespace(ctx: SandboxContext, name: string): KubeObject {
  return ctx.store.create('namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  });
}

export function seedNode(ctx: SandboxContext, name: string, extra: Partial<KubeObject> = {}): KubeObject {
  return ctx.store.create('nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: {},
    status: {
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
      ],
      addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
      nodeInfo: {
        kubeletVersion: 'v1.33.2',
        osImage: 'Ubuntu 24.04 LTS',
        kernelVersion: '6.8.0-31-generic',
        containerRuntimeVersion: 'containerd://1.7.13',
      },
    },
    ...extra,
  });
}

export function seedPod(
  ctx: SandboxContext,
  namespace: string,
  name: string,
  options: { node?: string; labels?: Record<string, string>; phase?: string } = {},
): KubeObject {
  return ctx.store.create('pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: options.labels ?? {} },
    spec: {
      ...(options.node ? { nodeName: options.node } : {}),
      containers: [{ name: 'app', image: 'nginx:1.27' }],
      terminationGracePeriodSeconds: 30,
    },
    status: { phase: options.phase ?? (options.node ? 'Running' : 'Pending') },
  });
}
