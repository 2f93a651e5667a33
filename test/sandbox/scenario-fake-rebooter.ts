import { R } from '../../src/sandbox/api/resources.ts';
import type { SandboxContext } from '../../src/sandbox/context.ts';
import type { NodeRebooter } from '../../src/sandbox/sim/control-plane.ts';
import type { PodBehaviour } from '../../src/sandbox/sim/node-upgrade.ts';
import type { KubeObject } from '../../src/sandbox/store/types.ts';

/**
 * Stand-in for the kubelet fleet (another team's module, not written yet): the one double these tests use.
 * It reboots a node as the fleet's contract says: NotReady for the downtime, then Ready at the new version,
 * or never back.
 */
export class FakeRebooter implements NodeRebooter {
  readonly restarts: Array<{ name: string; kubeletVersion?: string; comesBack?: boolean }> = [];
  readonly behaviours: Array<(pod: KubeObject) => PodBehaviour | undefined> = [];
  constructor(private readonly ctx: SandboxContext) {}

  async restartNode(
    name: string,
    options: { kubeletVersion?: string; downtimeMs: number; comesBack?: boolean },
  ) {
    this.restarts.push({ name, kubeletVersion: options.kubeletVersion, comesBack: options.comesBack });
    this.setReady(name, 'False');
    await this.ctx.clock.sleep(options.downtimeMs);
    if (options.comesBack === false) return;
    this.ctx.store.mutate(R.nodes, undefined, name, (n) => {
      if (options.kubeletVersion) n.status.nodeInfo.kubeletVersion = options.kubeletVersion;
    });
    this.setReady(name, 'True');
  }

  addPodBehaviour(fn: (pod: KubeObject) => PodBehaviour | undefined): void {
    this.behaviours.push(fn);
  }

  private setReady(name: string, status: string) {
    this.ctx.store.mutate(R.nodes, undefined, name, (n) => {
      const ready = n.status.conditions.find((c: { type: string }) => c.type === 'Ready');
      ready.status = status;
    });
  }
}
