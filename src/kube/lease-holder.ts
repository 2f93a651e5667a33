/**
 * Who holds the cluster's run Lease right now, read once (for `status` and refusals; taking the Lease is
 * lease-lock.ts's job).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { requestRaw } from './client.ts';
import { DEFAULT_LEASE_NAME, DEFAULT_LEASE_NAMESPACE } from './lease-lock.ts';

export interface LeaseHolderRecord {
  /** Empty when the Lease was released or never taken. */
  holder: string;
  /** renewTime as written by the holder, in the holder's clock. */
  renewTime?: string;
}

/** The Lease's holder, or a Lease with no holder when there is none; throws when the cluster cannot say. */
export async function readLeaseHolder(
  kc: KubeConfig,
  options: { timeoutMs?: number; name?: string; namespace?: string } = {},
): Promise<LeaseHolderRecord> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/${options.namespace ?? DEFAULT_LEASE_NAMESPACE}/leases/${options.name ?? DEFAULT_LEASE_NAME}`;
  const res = await requestRaw(kc, 'GET', path, { timeoutMs: options.timeoutMs ?? 5_000 });
  if (res.status === 404) return { holder: '' };
  if (res.status !== 200) throw new Error(`reading lease ${path} answered HTTP ${res.status}`);
  const spec = (JSON.parse(res.body) as { spec?: { holderIdentity?: string; renewTime?: string } }).spec;
  return { holder: spec?.holderIdentity ?? '', renewTime: spec?.renewTime };
}
