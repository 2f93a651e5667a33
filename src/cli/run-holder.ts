/**
 * Whether the process recorded as executing a run is still at it. After a crash the store still says
 * `running`; `status` and the refusals must then say that nothing executes the run and that
 * `midflight resume RUN` continues it, instead of offering pause and abort to a process that is gone.
 */
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseHolderIdentity, readLeaseHolder } from '../kube/index.ts';
import type { RunRecord } from '../store/index.ts';
import { processExists } from './process-exists.ts';

/**
 * Why the run's holder is gone, or undefined when it is alive or nobody can tell (the cluster unreachable
 * and the holder on another host). Two signs, neither depending on clocks agreeing: a holder on this host
 * whose process no longer exists; the cluster's Lease released or held by someone else.
 */
export async function holderGone(run: RunRecord, kc: KubeConfig | undefined): Promise<string | undefined> {
  if (run.state !== 'running' && run.state !== 'pending') return undefined;
  if (!run.holder) return 'no process is recorded as executing it';
  const id = parseHolderIdentity(run.holder);
  if (id && id.host === hostname() && !processExists(id.pid))
    return `process ${id.pid} on this host no longer exists`;
  if (!kc) return undefined;
  try {
    const lease = await readLeaseHolder(kc, { timeoutMs: 5_000 });
    if (lease.holder === run.holder) return undefined;
    return lease.holder
      ? `the cluster's lease is held by ${lease.holder}, not by it: it stopped renewing`
      : `the cluster's lease was released or expired: it stopped renewing`;
  } catch {
    return undefined;
  }
}
