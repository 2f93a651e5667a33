import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EtcdClient, type EtcdProcess, freeLoopbackPort, startEtcd } from '../../src/etcd/index.ts';

export { requireBinary } from './loopback-binary.ts';

/**
 * A real etcd cluster (Debian's `/usr/bin/etcd`, 3.4) for tests: 1 or 3 members on free loopback ports,
 * each with a data directory under one temp directory, started with src/etcd's process starter, so the
 * product's own code is what the tests lean on. Members can be stopped, killed and started again one by one.
 *
 *   describe.skipIf(!requireBinary('etcd', 'etcd-server'))('…', () => {
 *     const cluster = await startEtcdCluster({ members: 3 });
 *     await cluster.client('etcd-0').put('k', 'v');
 *     await cluster.stop('etcd-1');  await cluster.start('etcd-1');
 *     await cluster.stop();
 */

export const ETCD_BINARY = '/usr/bin/etcd';
export const ETCDCTL_BINARY = '/usr/bin/etcdctl';

export interface EtcdClusterOptions {
  members: 1 | 3;
  binary?: string;
}

export interface EtcdCluster {
  /** `etcd-0`, `etcd-1`, … */
  names: string[];
  /** Client URLs, in member order. */
  endpoints: string[];
  /** The temp directory holding every member's data directory and log. */
  dir: string;
  member(name: string): EtcdProcess;
  client(name: string): EtcdClient;
  /** The name of the member that is leader now, as the first running member says. */
  leader(): Promise<string>;
  /** Starts a stopped (or killed) member again on its ports and data; resolves once it is healthy. */
  start(name: string): Promise<void>;
  /** SIGKILL of one member: a crash. */
  kill(name: string): Promise<void>;
  /** With a name: stops that member (SIGTERM). Without: stops every member and removes the temp directory. */
  stop(name?: string): Promise<void>;
}

interface Slot {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  process?: EtcdProcess;
}

export async function startEtcdCluster(options: EtcdClusterOptions): Promise<EtcdCluster> {
  let lastError: Error | undefined;
  // A port chosen free may be taken by another test before etcd binds it: a new set of ports, twice.
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'midflight-etcd-'));
    const slots: Slot[] = [];
    for (let i = 0; i < options.members; i++)
      slots.push({
        name: `etcd-${i}`,
        clientPort: await freeLoopbackPort(),
        peerPort: await freeLoopbackPort(),
        dataDir: join(dir, `etcd-${i}`),
      });
    const initialCluster = slots.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
    const launch = (slot: Slot, waitHealthy: boolean) =>
      startEtcd({
        ...(options.binary ? { binary: options.binary } : {}),
        name: slot.name,
        dataDir: slot.dataDir,
        clientPort: slot.clientPort,
        peerPort: slot.peerPort,
        initialCluster,
        initialClusterToken: `midflight-test-${attempt}`,
        waitHealthy,
      });
    try {
      for (const slot of slots) slot.process = await launch(slot, false);
      await Promise.all(slots.map((s) => s.process!.waitHealthy()));
    } catch (err) {
      await Promise.all(slots.map((s) => s.process?.kill()));
      const logs = slots.map((s) => s.process?.logTail(16 * 1024) ?? '').join('\n');
      rmSync(dir, { recursive: true, force: true });
      lastError = err as Error;
      if (/address already in use/i.test(logs)) continue;
      throw err;
    }
    return clusterOf(dir, slots, launch);
  }
  throw lastError;
}

function clusterOf(
  dir: string,
  slots: Slot[],
  launch: (slot: Slot, wait: boolean) => Promise<EtcdProcess>,
): EtcdCluster {
  const slot = (name: string) => {
    const found = slots.find((s) => s.name === name);
    if (!found) throw new Error(`no etcd member ${name} (there are ${slots.map((s) => s.name).join(', ')})`);
    return found;
  };
  const running = (name: string) => {
    const proc = slot(name).process;
    if (!proc || proc.exited()) throw new Error(`etcd member ${name} is not running`);
    return proc;
  };
  return {
    names: slots.map((s) => s.name),
    endpoints: slots.map((s) => `http://127.0.0.1:${s.clientPort}`),
    dir,
    member: running,
    client: (name) => running(name).client(),
    async leader() {
      const alive = slots.find((s) => s.process && !s.process.exited());
      if (!alive) throw new Error('no etcd member is running');
      const status = await alive.process!.client().status();
      const members = await alive.process!.client().memberList();
      const leader = members.find((m) => m.id === status.leader);
      if (!leader)
        throw new Error(`etcd has no leader now (member ${alive.name} says leader ${status.leader})`);
      return leader.name;
    },
    async start(name) {
      const s = slot(name);
      if (s.process && !s.process.exited()) throw new Error(`etcd member ${name} is already running`);
      s.process = await launch(s, true);
    },
    async kill(name) {
      await running(name).kill();
    },
    async stop(name) {
      if (name !== undefined) {
        await running(name).stop();
        return;
      }
      await Promise.all(slots.map((s) => s.process?.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
