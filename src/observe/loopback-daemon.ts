/**
 * Starting a daemon Midflight does not ship (Prometheus for the demo; Prometheus, Alertmanager in tests) on a
 * free loopback port, in a temp directory of its own, and stopping it by its process id.
 *
 * IMPORTANT: a daemon must never outlive the process that started it: `stop()` ends it and removes its
 * directory, and if the process exits first (process.exit, an uncaught error) the same happens on its way
 * out. A caller that can die of a signal must turn the signal into an exit (the demo does).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A port nobody listens on now, on 127.0.0.1. Someone may take it before it is bound: the start retries. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface LoopbackDaemon {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** The daemon's own temp directory (config, data); removed by stop(). */
  dir: string;
  pid: number;
  /** What the daemon wrote to stderr so far (the last 64 KiB). */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s; waits for the exit, then removes the temp directory. Idempotent. */
  stop(): Promise<void>;
}

export interface LoopbackDaemonOptions {
  binary: string;
  /** Prefix of the temp directory's name. */
  name: string;
  /** Writes the config files into `dir` and returns the arguments for a daemon listening on `port`. */
  prepare(dir: string, port: number): string[];
  /** The path answering 200 once the daemon serves (e.g. `/-/ready`). */
  readyPath: string;
  /**
   * How long to wait for readiness. Prometheus and Alertmanager are ready in well under a second on an idle
   * machine; the bound is generous because the machine may be busy.
   */
  readyTimeoutMs?: number;
}

const MAX_OUTPUT = 64 * 1024;

/**
 * Starts `binary` on a free loopback port and waits for `readyPath` to answer 200. A port taken between
 * choosing and binding it is retried on a new port, twice.
 */
export async function startLoopbackDaemon(options: LoopbackDaemonOptions): Promise<LoopbackDaemon> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), `midflight-${options.name}-`));
    const port = await freeLoopbackPort();
    const daemon = launch(options, dir, port);
    try {
      await waitReady(daemon, options);
      return daemon;
    } catch (err) {
      await daemon.stop();
      lastError = err as Error;
      if (!/address already in use/i.test(daemon.output())) break;
    }
  }
  throw lastError;
}

function launch(
  options: LoopbackDaemonOptions,
  dir: string,
  port: number,
): LoopbackDaemon & { exited(): boolean } {
  let args: string[];
  try {
    args = options.prepare(dir, port);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const child: ChildProcess = spawn(options.binary, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    output = (output + chunk).slice(-MAX_OUTPUT);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (err) => {
      output += `\nspawn failed: ${err.message}`;
      exited = true;
      resolve();
    });
  });
  // Only synchronous work is possible on the way out: kill, and remove the directory.
  const killOnExit = () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    pid: child.pid ?? -1,
    output: () => output,
    exited: () => exited,
    stop() {
      stopping ??= (async () => {
        process.removeListener('exit', killOnExit);
        if (!exited) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exit;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

async function waitReady(daemon: LoopbackDaemon & { exited(): boolean }, options: LoopbackDaemonOptions) {
  const limit = options.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + limit;
  for (;;) {
    if (daemon.exited())
      throw new Error(`${options.binary} exited before it was ready:\n${daemon.output().slice(-4000)}`);
    try {
      const res = await fetch(`${daemon.url}${options.readyPath}`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline)
      throw new Error(
        `${options.binary} did not answer ${options.readyPath} within ${limit / 1000} s:\n${daemon.output().slice(-4000)}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
