/**
 * Starting an etcd member as a child process on loopback, and stopping it: the scratch etcd of
 * `backup drill`, and the members of the test clusters. The same process habits as the command runner
 * (src/providers/run-command.ts): its own process group, output to a file rather than a pipe, SIGTERM then
 * SIGKILL after a grace period.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { freeLoopbackPort } from '../observe/index.ts';
import { EtcdClient } from './etcd-client.ts';

export const DEFAULT_ETCD_BINARY = '/usr/bin/etcd';

export interface EtcdProcessOptions {
  /** Default /usr/bin/etcd. */
  binary?: string;
  /** The member's name (--name). */
  name: string;
  /** Its data directory; created when missing, never removed here (the caller owns it). */
  dataDir: string;
  /** Loopback ports; a free one each when not given. */
  clientPort?: number;
  peerPort?: number;
  /**
   * `--initial-cluster` (`a=http://127.0.0.1:2380,b=…`); default this member alone. Ignored by etcd once the
   * data directory holds a member (a restart, or a restored snapshot).
   */
  initialCluster?: string;
  initialClusterState?: 'new' | 'existing';
  initialClusterToken?: string;
  /** Where etcd's log goes; default `<dataDir>.log`. Appended to across restarts. */
  logFile?: string;
  /**
   * Serve clients over TLS with client-certificate authentication, as kubeadm's etcd does: `cert`/`key`
   * serve, client certificates must be signed by `ca`; `clientCert`/`clientKey` are what client() and the
   * health wait present.
   */
  tls?: { cert: string; key: string; ca: string; clientCert: string; clientKey: string };
  /** More flags, as they are. */
  extraArgs?: string[];
  /**
   * Wait until the member says it is healthy (it has a leader). A member of a cluster whose others are not
   * started yet cannot be: start them all with false, then `waitHealthy()` each.
   */
  waitHealthy?: boolean;
  /**
   * Wall-clock ms to wait for health. etcd is healthy in about a second on an idle machine; the default
   * (60 s) is generous because the machines running it are often shared and busy.
   */
  readyTimeoutMs?: number;
  /** Wall ms between SIGTERM and SIGKILL on stop(). Default 10 s. */
  killGraceMs?: number;
}

export interface EtcdProcess {
  name: string;
  /** `http://127.0.0.1:PORT` */
  clientUrl: string;
  peerUrl: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  logFile: string;
  pid: number;
  /** A client of this member. */
  client(): EtcdClient;
  exited(): boolean;
  /** The last `bytes` of its log (default 4 KiB), for error messages. */
  logTail(bytes?: number): string;
  /** Resolves once the member says it is healthy; rejects (with its log) when it exits or the time is up. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** SIGTERM to its group, SIGKILL after the grace period; resolves once it exited. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL at once (a crash); resolves once it exited. */
  kill(): Promise<void>;
}

const DEFAULT_READY_TIMEOUT_MS = 60_000;
const DEFAULT_KILL_GRACE_MS = 10_000;
const PORT_ATTEMPTS = 3;

/** Starts an etcd member; see EtcdProcessOptions. Free ports taken under it are retried on new ones. */
export async function startEtcd(options: EtcdProcessOptions): Promise<EtcdProcess> {
  const choosePorts = options.clientPort === undefined || options.peerPort === undefined;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < (choosePorts ? PORT_ATTEMPTS : 1); attempt++) {
    const clientPort = options.clientPort ?? (await freeLoopbackPort());
    const peerPort = options.peerPort ?? (await freeLoopbackPort());
    const member = launch(options, clientPort, peerPort);
    if (options.waitHealthy === false) return member;
    try {
      await member.waitHealthy(options.readyTimeoutMs);
      return member;
    } catch (err) {
      await member.stop();
      lastError = err as Error;
      if (!/address already in use/i.test(member.logTail(16 * 1024))) break;
    }
  }
  throw lastError;
}

function launch(options: EtcdProcessOptions, clientPort: number, peerPort: number): EtcdProcess {
  const binary = options.binary ?? DEFAULT_ETCD_BINARY;
  const clientUrl = `${options.tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  if (!existsSync(binary))
    throw new Error(
      `${binary} is missing: install etcd (Debian: apt-get install etcd-server) or give the path of its binary`,
    );
  const logFile = options.logFile ?? `${options.dataDir.replace(/\/+$/, '')}.log`;
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(dirname(logFile), { recursive: true });
  const args = [
    `--name=${options.name}`,
    `--data-dir=${options.dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${options.initialCluster ?? `${options.name}=${peerUrl}`}`,
    `--initial-cluster-state=${options.initialClusterState ?? 'new'}`,
    `--initial-cluster-token=${options.initialClusterToken ?? 'midflight'}`,
    // Metrics and pprof stay off the network: only the two loopback ports above are opened.
    '--listen-metrics-urls=',
    ...(options.tls
      ? [
          `--cert-file=${options.tls.cert}`,
          `--key-file=${options.tls.key}`,
          `--trusted-ca-file=${options.tls.ca}`,
          '--client-cert-auth=true',
        ]
      : []),
    ...(options.extraArgs ?? []),
  ];
  const logFd = openSync(logFile, 'a', 0o600);
  const logStart = statSync(logFile).size;
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { detached: true, stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  let exited = false;
  let spawnError: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (err) => {
      spawnError = `${binary} could not be started: ${err.message}`;
      exited = true;
      resolve();
    });
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // ESRCH: already gone.
    }
  };
  // IMPORTANT: a member must not outlive the process that started it (a drill's scratch etcd, a test's).
  const killOnExit = () => signalGroup('SIGKILL');
  process.once('exit', killOnExit);
  exit.then(() => process.removeListener('exit', killOnExit));
  const logTail = (bytes = 4096) => {
    const log = readTail(logFile, logStart, bytes);
    return spawnError ? `${log}\n${spawnError}` : log;
  };
  let stopping: Promise<void> | undefined;
  const member: EtcdProcess = {
    name: options.name,
    clientUrl,
    peerUrl,
    clientPort,
    peerPort,
    dataDir: options.dataDir,
    logFile,
    pid: child.pid ?? -1,
    client: () =>
      new EtcdClient({
        endpoint: clientUrl,
        timeoutMs: 5_000,
        ...(options.tls
          ? { tls: { cacert: options.tls.ca, cert: options.tls.clientCert, key: options.tls.clientKey } }
          : {}),
      }),
    exited: () => exited,
    logTail,
    async waitHealthy(timeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS) {
      const client = member.client();
      // IMPORTANT: wall clock: the process starts in real time whatever a run's clock does.
      const deadline = Date.now() + timeoutMs;
      let reason = 'no answer yet';
      for (;;) {
        if (exited)
          throw new Error(`etcd member ${options.name} exited before it was healthy:\n${logTail()}`);
        const health = await client.healthy();
        if (health.healthy) return;
        reason = health.reason ?? reason;
        if (Date.now() > deadline)
          throw new Error(
            `etcd member ${options.name} (${clientUrl}) was not healthy within ${timeoutMs / 1000}s (${reason}):\n${logTail()}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop() {
      stopping ??= (async () => {
        signalGroup('SIGTERM');
        const timer = setTimeout(() => signalGroup('SIGKILL'), options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
        await exit;
        clearTimeout(timer);
      })();
      return stopping;
    },
    async kill() {
      signalGroup('SIGKILL');
      await exit;
    },
  };
  return member;
}

function readTail(path: string, from: number, bytes: number): string {
  try {
    const size = statSync(path).size;
    const start = Math.max(from, size - bytes);
    const buffer = Buffer.alloc(size - start);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, start);
    } finally {
      closeSync(fd);
    }
    return buffer.toString('utf8');
  } catch {
    return '';
  }
}
