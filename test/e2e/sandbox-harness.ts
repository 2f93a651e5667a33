import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  stop(): Promise<void>;
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
    async stop() {
      await box.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
