/**
 * What every command that reads a cluster does first: load the kubeconfig (--kubeconfig, --context,
 * $KUBECONFIG), read the snapshot with progress on a terminal, and turn every failure into one line.
 */
import type { Command } from 'commander';
import type { ClusterSnapshot } from '../core/index.ts';
import {
  type ClusterTarget,
  KubeconfigError,
  KubeError,
  loadKubeConfig,
  type ReadSnapshotOptions,
  readSnapshot,
  type SnapshotProgress,
} from '../kube/index.ts';
import { CliError, UsageError } from './errors.ts';

export async function readClusterSnapshot(
  cmd: Command,
  options: Pick<ReadSnapshotOptions, 'helmReleases'> = {},
): Promise<ClusterSnapshot> {
  const target = cmd.optsWithGlobals() as ClusterTarget;
  let kc: ReturnType<typeof loadKubeConfig>;
  try {
    kc = loadKubeConfig({ kubeconfig: target.kubeconfig, context: target.context });
  } catch (err) {
    if (err instanceof KubeconfigError) throw new UsageError(err.message);
    throw err;
  }
  const progress = process.stderr.isTTY ? new ProgressLine(process.stderr) : undefined;
  try {
    return await readSnapshot(kc, {
      ...options,
      onProgress: progress && ((p) => progress.update(p)),
      onWarning: (message) => {
        progress?.clear();
        process.stderr.write(`warning: ${message}\n`);
      },
    });
  } catch (err) {
    if (err instanceof KubeError) throw new CliError(err.message);
    throw err;
  } finally {
    progress?.clear();
  }
}

/** One self-overwriting status line: "reading the cluster: pods 12000, nodes 5000 …", at most 10 times a second. */
class ProgressLine {
  private readonly counts = new Map<string, number>();
  private lastDrawn = 0;
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(p: SnapshotProgress): void {
    this.counts.set(p.resource, p.read);
    const now = performance.now();
    if (now - this.lastDrawn < 100) return;
    this.lastDrawn = now;
    const big = [...this.counts.entries()]
      .filter(([, n]) => n > 0)
      .sort(([, a], [, b]) => b - a)
      .slice(0, 4)
      .map(([r, n]) => `${r} ${n}`)
      .join(', ');
    const text = `reading the cluster: ${big}`;
    const columns = this.stream.columns || 80;
    this.stream.write(`\r${text.slice(0, columns - 1)}\x1b[K`);
    this.drawn = true;
  }

  clear(): void {
    if (!this.drawn) return;
    this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
