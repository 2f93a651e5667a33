import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { requestRaw } from '../../src/kube/index.ts';

const BIN = join(import.meta.dirname, '../../bin/midflight.js');

/**
 * A sandbox started as a user starts one: `midflight sandbox start` in its own process, TLS and a token,
 * its kubeconfig written to a file. The same face as the in-process sandbox (sandbox-harness.ts) where a
 * test only talks to it over HTTP: `kubeConfig()` and the admin API.
 */
export interface SandboxProcess {
  kubeconfigPath: string;
  kubeConfig(): KubeConfig;
  /** GET of a path of the sandbox's admin API (`/sandbox/v1/…`), its JSON answer; throws on another status than 200. */
  admin<T>(path: string): Promise<T>;
  /** SIGTERM, and waits until the process is gone. */
  stop(): Promise<void>;
  /** What it printed so far, stdout and stderr interleaved. */
  readonly output: string;
  /** Resolves with its exit code once it exits. */
  exited: Promise<number | null>;
}

export interface SandboxProcessOptions {
  /** A built-in scenario's name or a scenario file, as `--scenario` takes them. */
  scenario: string;
  timeScale: number;
  /** Where the kubeconfig goes, as `<dir>/<name>.kubeconfig`. */
  dir: string;
  name: string;
  /** `--etcd URL`: the sandbox keeps its objects in this etcd. */
  etcd?: string;
}

export async function startSandboxProcess(options: SandboxProcessOptions): Promise<SandboxProcess> {
  const kubeconfigPath = join(options.dir, `${options.name}.kubeconfig`);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      BIN,
      'sandbox',
      'start',
      '--scenario',
      options.scenario,
      '--port',
      '0',
      '--kubeconfig-out',
      kubeconfigPath,
      '--time-scale',
      String(options.timeScale),
      ...(options.etcd ? ['--etcd', options.etcd] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  // Note: the bound only keeps a broken start from hanging; a start takes a few seconds on a busy machine.
  const deadline = Date.now() + 60_000;
  while (!output.includes('Press Ctrl-C to stop.')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`the sandbox did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const kubeConfig = () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    return kc;
  };
  return {
    kubeconfigPath,
    kubeConfig,
    async admin<T>(path: string) {
      const res = await requestRaw(kubeConfig(), 'GET', path);
      if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${res.body}`);
      return JSON.parse(res.body) as T;
    },
    stop,
    get output() {
      return output;
    },
    exited,
  };
}
