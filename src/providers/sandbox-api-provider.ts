import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../core/index.ts';
import { type RawResponse, requestRaw } from '../kube/index.ts';
import { ProviderError, type UpgradeContext, type UpgradeProvider } from './upgrade-provider.ts';

/**
 * Upgrades a node through the sandbox's upgrade endpoint, as through a cloud API's node operation: starts it,
 * then polls it every second of clock, or after the Retry-After the sandbox answers with (the reboot's
 * downtime left, rounded up: the end is seen at the same clock second as with polling every second). A rehearsal (src/rehearse) upgrades its copy's nodes through this one,
 * and every method the bench compares does too.
 * Note: not one request that waits, since that request would hold a virtual clock
 * (`src/sandbox/idle-time.ts`) that the upgrade needs to move.
 */
export class SandboxApiProvider implements UpgradeProvider {
  readonly kind = 'sandbox-api';
  /** Requests made to the upgrade endpoint, by method: a cloud API's, so not counted as Kubernetes API requests. */
  readonly requests = { GET: 0, POST: 0 };
  constructor(
    private readonly kc: KubeConfig,
    private readonly clock: Clock,
  ) {}
  async upgradeNode(ctx: Pick<UpgradeContext, 'node' | 'version'>): Promise<void> {
    const path = `/sandbox/v1/nodes/${encodeURIComponent(ctx.node)}/upgrade`;
    this.requests.POST++;
    const stateOf = (res: RawResponse) =>
      res.status < 300 ? (JSON.parse(res.body) as { state?: string }).state : undefined;
    let res = await requestRaw(this.kc, 'POST', path, { body: { version: ctx.version } });
    while (stateOf(res) === 'upgrading') {
      await this.clock.sleep(retryAfterMs(res));
      this.requests.GET++;
      res = await requestRaw(this.kc, 'GET', path);
    }
    if (stateOf(res) !== 'succeeded')
      throw new ProviderError(`upgrade of ${ctx.node} failed: ${res.body}`, ctx.node, [res.body]);
  }
}

/** The answer's Retry-After (whole seconds), or one second when it has none or it is not a number ≥ 1. */
function retryAfterMs(res: RawResponse): number {
  const seconds = Number(res.headers['retry-after']);
  return Number.isInteger(seconds) && seconds >= 1 ? seconds * 1000 : 1000;
}
