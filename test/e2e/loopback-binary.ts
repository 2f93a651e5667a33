import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Starting a real daemon (Prometheus, Alertmanager) for a test: on a free loopback port, in a temp
 * directory of its own, stopped by its process id. Shared by prometheus-harness.ts and
 * alertmanager-harness.ts.
 */

/**
 * Whether `/usr/bin/<name>` (or `name`, when it is a path) is there. Locally a missing binary only skips
 * the tests that need it, with a message saying what to install; under CI (`process.env.CI` set) it throws,
 * so the test file fails: CI installs it (.ci/run), and a skip there would hide a broken install.
 *
 *   describe.skipIf(!requireBinary('prometheus'))('gates on real Prometheus', () => { … });
 *   requireBinary('promtool', 'prometheus')   // the binary ships in another package
 */
export function requireBinary(name: string, debianPackage = name): boolean {
  const path = name.startsWith('/') ? name : `/usr/bin/${name}`;
  if (existsSync(path)) return true;
  const message = `${path} is missing: install the Debian package "${debianPackage}" (apt-get install ${debianPackage}) to run these tests`;
  if (process.env.CI) throw new Error(`${message}; CI must have it (.ci/run installs it)`);
  console.warn(`SKIPPED: ${message}`);
  return false;
}

/** A port nobody listens on now, on 127.0.0.1. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface LoopbackProcess {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** The process's own temp directory (config, data); removed by stop(). */
  dir: string;
  pid: number;
  /** What the process wrote to stderr so far (the last 64 KiB). */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s; waits for the exit, then removes the temp directory. Idempotent. */
  stop(): Promise<void>;
}

export interface LoopbackProcessOptions {
  binary: string;
  /** Prefix of the temp directory's name. */
  name: string;
  /** Writes the config files into `dir` and returns the arguments for a process listening on `port`. */
  prepare(dir: string, port: number): string[];
  /** The path answering 200 once the process serves (e.g. `/-/ready`). */
  readyPath: string;
  /**
   * How long to wait for readiness. Both daemons are ready in well under a second on an idle machine; the
   * bound is generous because the test machine is shared by several suites at once.
   */
  readyTimeoutMs?: number;
}

const MAX_OUTPUT = 64 * 1024;

/**
 * Starts `binary` on a free loopback port and waits for `readyPath` to answer 200. A port taken between
 * choosing and binding it (another test got it first) is retried on a new port, twice.
 */
export async function startLoopbackProcess(options: LoopbackProcessOptions): Promise<LoopbackProcess> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), `midflight-${options.name}-`));
    const port = await freeLoopbackPort();
    const proc = launch(options, dir, port);
    try {
      await waitReady(proc, options);
      return proc;
    } catch (err) {
      await proc.stop();
      lastError = err as Error;
      if (!/address already in use/i.test(proc.output())) break;
    }
  }
  throw lastError;
}

function launch(
  options: LoopbackProcessOptions,
  dir: string,
  port: number,
): LoopbackProcess & { exited(): boolean } {
  const args = options.prepare(dir, port);
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
  // IMPORTANT: a test worker that dies (or forgets stop()) must not leave the daemon holding its port.
  const killOnExit = () => child.kill('SIGKILL');
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

async function waitReady(proc: LoopbackProcess & { exited(): boolean }, options: LoopbackProcessOptions) {
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (proc.exited())
      throw new Error(`${options.binary} exited before it was ready:\n${proc.output().slice(-4000)}`);
    try {
      const res = await fetch(`${proc.url}${options.readyPath}`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline)
      throw new Error(
        `${options.binary} did not answer ${options.readyPath} within ${options.readyTimeoutMs ?? 60_000} ms:\n${proc.output().slice(-4000)}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
