/**
 * The scenario faults the kubelets act out (`ctx.faults`, which may change at run time):
 * - `ignoreSigtermSelectors`: pods matching one of these label selectors ignore SIGTERM and run until their
 *   grace period ends, then exit 137 (SIGKILL);
 * - `nodesNeverReadyAfterUpgrade`: these nodes, once rebooted into a new version, never come back.
 */
import { matchesRequirements, parseLabelSelector, type Requirement } from '../../core/index.ts';
import type { SandboxContext } from '../context.ts';
import type { KubeObject } from '../store/types.ts';

export class KubeletFaults {
  /** The parsed selectors, kept while `ctx.faults.ignoreSigtermSelectors` is the same list. */
  private ignoreSigterm: { source: string[]; requirements: Requirement[][] } = {
    source: [],
    requirements: [],
  };

  constructor(private readonly ctx: SandboxContext) {}

  ignoresSigterm(pod: KubeObject): boolean {
    const selectors = this.ctx.faults.ignoreSigtermSelectors;
    if (selectors.length === 0) return false;
    if (this.ignoreSigterm.source !== selectors) {
      // Faults change at run time; a selector that does not parse matches nothing rather than crashing.
      const requirements = selectors.flatMap((s) => {
        try {
          return [parseLabelSelector(s)];
        } catch {
          return [];
        }
      });
      this.ignoreSigterm = { source: selectors, requirements };
    }
    return this.ignoreSigterm.requirements.some((reqs) => matchesRequirements(reqs, pod.metadata.labels));
  }

  /** Whether an upgrade (a restart into `kubeletVersion`) of the node leaves it down for good. */
  neverReadyAfter(nodeName: string, kubeletVersion: string | undefined): boolean {
    return kubeletVersion !== undefined && this.ctx.faults.nodesNeverReadyAfterUpgrade.has(nodeName);
  }
}
