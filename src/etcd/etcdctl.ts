/**
 * Running etcdctl (Debian's etcd-client; `snapshot restore` and `snapshot status` are in etcdctl up to 3.4,
 * in etcdutl from 3.5). An argument vector, never a shell: paths go through as they are. Its output is
 * small and read whole; the process is killed at the deadline.
 *
 * Note: not the command runner of src/providers/run-command.ts: that one is for a user's long script that
 * must outlive midflight (ssh … kubeadm); this is a short local tool whose answer midflight waits for.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export const DEFAULT_ETCDCTL_BINARY = '/usr/bin/etcdctl';

export interface EtcdctlOptions {
  /** Default /usr/bin/etcdctl. */
  binary?: string;
  args: string[];
  /** Wall-clock ms before it is killed. Default 5 minutes (a restore of a large database takes time). */
  timeoutMs?: number;
}

/** etcdctl did not succeed: what was asked, and what it said. */
export class EtcdctlError extends Error {
  constructor(
    readonly args: string[],
    detail: string,
  ) {
    super(`etcdctl ${args.join(' ')}: ${detail}`);
    this.name = 'EtcdctlError';
  }
}

/** Runs etcdctl with ETCDCTL_API=3; resolves with its stdout, rejects with EtcdctlError. */
export function runEtcdctl(options: EtcdctlOptions): Promise<string> {
  const binary = options.binary ?? DEFAULT_ETCDCTL_BINARY;
  if (!existsSync(binary))
    return Promise.reject(
      new EtcdctlError(
        options.args,
        `${binary} is missing: install etcdctl (Debian: apt-get install etcd-client)`,
      ),
    );
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      options.args,
      {
        env: { ...process.env, ETCDCTL_API: '3' },
        timeout: options.timeoutMs ?? 300_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const said = lastLines(`${stderr}\n${stdout}`);
        const how = error.killed ? 'was killed (time limit)' : `exited with status ${error.code ?? '?'}`;
        reject(new EtcdctlError(options.args, `${how}${said ? `: ${said}` : ''}`));
      },
    );
  });
}

/** The meaningful end of etcdctl's output: its JSON log lines reduced to their messages and errors. */
function lastLines(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      if (!l.startsWith('{')) return l;
      try {
        const entry = JSON.parse(l) as { msg?: string; error?: string };
        return [entry.msg, entry.error].filter(Boolean).join(': ');
      } catch {
        return l;
      }
    });
  return lines.slice(-3).join(' | ');
}
