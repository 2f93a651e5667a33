import { R } from '../api/resources.ts';
import type { Actor, SandboxContext } from '../context.ts';
import type { KubeObject } from '../store/types.ts';

/** One line a simulated container printed, with the clock time it printed it. */
export interface LogLine {
  at: number;
  text: string;
}

const FINISHED = new Set(['Succeeded', 'Failed']);

/** Lines kept per container, oldest dropped first: the kubelet rotates container logs the same way. */
const MAX_LINES = 10_000;

interface ContainerLog {
  lines: LogLine[];
  /** The container exited: nothing more will be printed. */
  ended: boolean;
  followers: Set<Follower>;
}

interface Follower {
  onLine(line: LogLine): void;
  onEnd(): void;
}

/** Reading side of the log book: what the API server's pods/log subresource serves. */
export interface PodLogSource {
  lines(podUid: string, container: string): readonly LogLine[];
  /** Calls `onLine` for each later line and `onEnd` when the container exits; returns the unsubscribe. */
  follow(podUid: string, container: string, onLine: (line: LogLine) => void, onEnd: () => void): () => void;
  /** Whether the container's output is complete (it exited). */
  ended(podUid: string, container: string): boolean;
}

/**
 * What the simulated containers printed, kept as the kubelet keeps container logs: per pod (by uid, so a pod
 * recreated under the same name starts empty) and container, for as long as the pod exists. Behaviours that
 * stand in for real programs (the node-upgrade Job) print here; `kubectl logs` reads it back.
 */
export class PodLogBook implements Actor, PodLogSource {
  readonly name = 'pod-logs';
  private readonly logs = new Map<string, ContainerLog>();
  private readonly byPod = new Map<string, Set<string>>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly ctx: SandboxContext) {}

  start(): void {
    this.unsubscribe = this.ctx.store.onChange((event) => {
      if (event.resource !== R.pods) return;
      const uid = event.object.metadata.uid ?? '';
      if (event.type === 'DELETED') this.forget(uid);
      // A finished pod's containers have all exited, whether or not a behaviour said so.
      else if (FINISHED.has(event.object.status?.phase)) this.endAll(uid);
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** The container of `pod` printed `text` (one line per '\n'-separated part), now. */
  print(pod: KubeObject, container: string, text: string): void {
    const log = this.logOf(pod.metadata.uid ?? '', container, true)!;
    if (log.ended) return;
    const at = this.ctx.clock.now();
    for (const part of text.split('\n')) {
      const line = { at, text: part };
      log.lines.push(line);
      for (const f of log.followers) f.onLine(line);
    }
    if (log.lines.length > MAX_LINES) log.lines.splice(0, log.lines.length - MAX_LINES);
  }

  /** The container exited: followers are told, later prints are ignored. */
  end(pod: KubeObject, container: string): void {
    const log = this.logOf(pod.metadata.uid ?? '', container, true)!;
    log.ended = true;
    for (const f of [...log.followers]) f.onEnd();
    log.followers.clear();
  }

  lines(podUid: string, container: string): readonly LogLine[] {
    return this.logOf(podUid, container, false)?.lines ?? [];
  }

  ended(podUid: string, container: string): boolean {
    return this.logOf(podUid, container, false)?.ended ?? false;
  }

  follow(podUid: string, container: string, onLine: (line: LogLine) => void, onEnd: () => void): () => void {
    const log = this.logOf(podUid, container, true)!;
    if (log.ended) {
      onEnd();
      return () => {};
    }
    const follower = { onLine, onEnd };
    log.followers.add(follower);
    return () => log.followers.delete(follower);
  }

  private logOf(podUid: string, container: string, create: boolean): ContainerLog | undefined {
    const key = `${podUid}/${container}`;
    let log = this.logs.get(key);
    if (!log && create) {
      log = { lines: [], ended: false, followers: new Set() };
      this.logs.set(key, log);
      let keys = this.byPod.get(podUid);
      if (!keys) {
        keys = new Set();
        this.byPod.set(podUid, keys);
      }
      keys.add(key);
    }
    return log;
  }

  private endAll(podUid: string): void {
    for (const key of this.byPod.get(podUid) ?? []) {
      const log = this.logs.get(key)!;
      if (log.ended) continue;
      log.ended = true;
      for (const f of [...log.followers]) f.onEnd();
      log.followers.clear();
    }
  }

  /** The pod is gone: its logs go with it, and followers see the end of the stream. */
  private forget(podUid: string): void {
    for (const key of this.byPod.get(podUid) ?? []) {
      const log = this.logs.get(key);
      for (const f of log?.followers ?? []) f.onEnd();
      this.logs.delete(key);
    }
    this.byPod.delete(podUid);
  }
}
