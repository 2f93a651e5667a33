import { R } from '../../src/sandbox/api/resources.ts';
import type { Sandbox } from '../../src/sandbox/sandbox.ts';
import type { KubeObject } from '../../src/sandbox/store/types.ts';

const CONTROL_PLANE_ROLE = 'node-role.kubernetes.io/control-plane';

/** What the cluster saw of an upgrade's node phase. */
export interface NodePhase {
  /** Clock ms from the first worker cordoned to the last uncordoned; undefined if none was both. */
  durationMs?: number;
  /** The most workers cordoned at once. */
  maxCordoned: number;
  /** Workers cordoned at the end (a stuck or stopped upgrade leaves some). */
  stillCordoned: string[];
}

/**
 * Measures the node phase from the cluster itself, the same way for every method: first worker cordoned →
 * last worker uncordoned, in the sandbox's clock time. It does not depend on how a method organises its
 * work (batches, waves, a flow), only on what every method must do to each node.
 */
export class NodePhaseWatch {
  private readonly cordoned = new Set<string>();
  private firstCordonAt?: number;
  private lastUncordonAt?: number;
  private maxCordoned = 0;
  private readonly stopWatching: () => void;

  constructor(private readonly box: Sandbox) {
    for (const node of box.ctx.store.list(R.nodes))
      if (isCordonedWorker(node)) this.cordoned.add(nameOf(node));
    this.stopWatching = box.ctx.store.watch(
      R.nodes,
      { fromResourceVersion: box.ctx.store.resourceVersion },
      (_type, node) => this.onNode(node),
    );
  }

  private onNode(node: KubeObject): void {
    if (node.metadata.labels?.[CONTROL_PLANE_ROLE] !== undefined) return;
    const name = nameOf(node);
    const now = this.box.ctx.clock.now();
    if (isCordonedWorker(node) && !this.cordoned.has(name)) {
      this.cordoned.add(name);
      this.firstCordonAt ??= now;
      this.maxCordoned = Math.max(this.maxCordoned, this.cordoned.size);
    } else if (!isCordonedWorker(node) && this.cordoned.delete(name)) {
      this.lastUncordonAt = now;
    }
  }

  /** Stops watching and says what was seen. */
  finish(): NodePhase {
    this.stopWatching();
    const { firstCordonAt: first, lastUncordonAt: last } = this;
    return {
      durationMs: first !== undefined && last !== undefined ? last - first : undefined,
      maxCordoned: this.maxCordoned,
      stillCordoned: [...this.cordoned].sort(),
    };
  }
}

function nameOf(node: KubeObject): string {
  return node.metadata.name ?? '';
}

function isCordonedWorker(node: KubeObject): boolean {
  return node.metadata.labels?.[CONTROL_PLANE_ROLE] === undefined && node.spec?.unschedulable === true;
}
