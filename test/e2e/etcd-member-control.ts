import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EtcdCluster } from './etcd-harness.ts';

/**
 * A loopback HTTP endpoint through which a provider's command restarts a member of a test's etcd cluster:
 * the test process owns the members (etcd-harness.ts), so a command the engine runs in a shell asks it, as
 * an operator's `ssh host systemctl restart etcd` asks systemd:
 *
 *   curl -fsS -X POST http://127.0.0.1:PORT/restart/{member}
 *
 * stops the member (SIGTERM) and starts it again on its data, answering 200 once it is healthy. With
 * `leaveDown` above 0, that many restarts stop the member and leave it stopped: a member that does not
 * come back, while its command says it went well.
 *
 * Every call is recorded with the member that led when it arrived, so a test can tell whether leadership
 * had moved away before the member went down.
 */
export interface MemberControl {
  url: string;
  calls: Array<{ member: string; leaderAtCall: string; leftDown: boolean }>;
  /** The members whose restart has finished (healthy again), in order. */
  restarted: string[];
  /** How many of the next restarts leave their member stopped. */
  leaveDown: number;
  close(): Promise<void>;
}

export async function startMemberControl(cluster: EtcdCluster): Promise<MemberControl> {
  const control: MemberControl = {
    url: '',
    calls: [],
    restarted: [],
    leaveDown: 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const match = /^\/restart\/([^/]+)$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) {
      res.writeHead(404).end('POST /restart/MEMBER\n');
      return;
    }
    const member = decodeURIComponent(match[1]!);
    (async () => {
      const leaderAtCall = await cluster.leader().catch((err: Error) => `(none: ${err.message})`);
      const leftDown = control.leaveDown > 0;
      if (leftDown) control.leaveDown--;
      control.calls.push({ member, leaderAtCall, leftDown });
      await cluster.stop(member);
      if (!leftDown) {
        await cluster.start(member);
        control.restarted.push(member);
      }
      res.writeHead(200).end(`restart ${member}: ${leftDown ? 'stopped, left down' : 'done'}\n`);
    })().catch((err: Error) => res.writeHead(500).end(`restart ${member}: ${err.message}\n`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  control.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return control;
}
