/**
 * The `kube` provider: what the Kubernetes API itself shows, for clusters without Prometheus. Each
 * measure is a ratio between 0 and 1.
 *
 * - api-availability (M1): Midflight's own synthetic probe, GET /readyz once per evaluation; the value is the
 *   share of probes that succeeded over the last minute of the run's clock.
 * - node-readiness (M2): Ready nodes among those not in flight.
 * - unplanned-disruption (M3): pods not Ready among those not on an in-flight node (running or waiting to
 *   be scheduled; finished pods left out). The run's own drains only disrupt pods on in-flight nodes.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../core/index.ts';
import { ClusterAccess, requestRaw } from '../../kube/index.ts';
import type { KubeQuery } from '../gate-types.ts';
import { NoDataError } from '../measurement.ts';

const PROBE_WINDOW_MS = 60_000;

export class KubeProbe {
  private readonly cluster: ClusterAccess;
  private probes: Array<{ at: number; ok: boolean }> = [];

  constructor(
    private readonly kc: KubeConfig,
    private readonly clock: Clock,
  ) {
    this.cluster = new ClusterAccess(kc, clock);
  }

  async measure(query: KubeQuery, nodesInFlight: string[], timeoutMs: number): Promise<number> {
    switch (query) {
      case 'api-availability':
        return this.apiAvailability(timeoutMs);
      case 'node-readiness':
        return this.nodeReadiness(new Set(nodesInFlight));
      case 'unplanned-disruption':
        return this.unplannedDisruption(new Set(nodesInFlight));
    }
  }

  private async apiAvailability(timeoutMs: number): Promise<number> {
    let ok = false;
    try {
      ok = (await requestRaw(this.kc, 'GET', '/readyz', { timeoutMs })).status === 200;
    } catch {
      // An unreachable API server is exactly what this probe measures: a failed probe, not a failed query.
    }
    const now = this.clock.now();
    this.probes = this.probes.filter((p) => now - p.at < PROBE_WINDOW_MS);
    this.probes.push({ at: now, ok });
    return this.probes.filter((p) => p.ok).length / this.probes.length;
  }

  private async nodeReadiness(inFlight: Set<string>): Promise<number> {
    const nodes = (await this.cluster.listNodes()).filter((n) => !inFlight.has(n.name));
    if (nodes.length === 0) throw new NoDataError('no node outside the ones in flight');
    return nodes.filter((n) => n.ready).length / nodes.length;
  }

  private async unplannedDisruption(inFlight: Set<string>): Promise<number> {
    // Note: measured every interval, so the API server leaves out what is not counted (finished pods, pods on
    // the nodes in flight) instead of sending every pod of the cluster; the filter below says the same.
    const selector = [
      'status.phase!=Succeeded',
      'status.phase!=Failed',
      ...[...inFlight].map((node) => `spec.nodeName!=${node}`),
    ].join(',');
    const pods = (await this.cluster.listAllPods(selector)).filter((p) => {
      const phase = p.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') return false;
      return !inFlight.has(p.spec?.nodeName ?? '');
    });
    if (pods.length === 0) throw new NoDataError('no pod outside the nodes in flight');
    const ready = pods.filter((p) =>
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    return (pods.length - ready.length) / pods.length;
  }
}
