/**
 * A real Alertmanager (Debian's prometheus-alertmanager) on a free loopback port with a temporary storage
 * directory and a config that routes everything to a receiver that sends nothing. Until the shared
 * test/e2e/alertmanager-harness.ts lands, the observe tests start it with this.
 *
 * Locally a missing binary skips the tests with a message; with CI set it fails them (CI installs it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ALERTMANAGER_BINARY = process.env.MIDFLIGHT_ALERTMANAGER ?? '/usr/bin/prometheus-alertmanager';

/** Why the tests cannot run here, or undefined; with CI set a missing binary is a failure, not a skip. */
export function alertmanagerMissing(): string | undefined {
  if (existsSync(ALERTMANAGER_BINARY)) return undefined;
  const why = `${ALERTMANAGER_BINARY} is not installed (apt-get install prometheus-alertmanager)`;
  if (process.env.CI) throw new Error(`CI must run the Alertmanager tests: ${why}`);
  console.warn(`skipping the Alertmanager tests: ${why}`);
  return why;
}

export interface RunningAlertmanager {
  url: string;
  stop(): Promise<void>;
}

const CONFIG = `route:
  receiver: blackhole
receivers:
  - name: blackhole
`;

export async function startAlertmanager(): Promise<RunningAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'midflight-am-'));
  writeFileSync(join(dir, 'alertmanager.yml'), CONFIG);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(
    ALERTMANAGER_BINARY,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // No gossip: a single instance, no port of its own to collide with.
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const stop = async () => {
    await kill(proc);
    rmSync(dir, { recursive: true, force: true });
  };
  // Note: generous: the machine is shared, and Alertmanager starts in well under a second when it is not.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) {
      await stop();
      throw new Error(`alertmanager exited with ${proc.exitCode}: ${stderr}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`alertmanager did not become ready at ${url}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop };
}

function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
