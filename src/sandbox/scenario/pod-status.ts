import { createHash } from 'node:crypto';

interface ContainerLike {
  name: string;
  image: string;
}

/**
 * The status a kubelet reports for a pod whose containers are running: phase Running, the five pod
 * conditions, IPs and one running container status per container. `ready: false` is a pod whose
 * readiness probe has not passed yet.
 */
export function runningPodStatus(p: {
  containers: ContainerLike[];
  hostIP: string;
  podIP: string;
  now: string;
  ready: boolean;
  seed: string;
}): Record<string, unknown> {
  const ready = p.ready ? 'True' : 'False';
  const condition = (type: string, status: string) => ({
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: p.now,
    ...(status === 'False'
      ? { reason: 'ContainersNotReady', message: 'containers with unready status: [app]' }
      : {}),
  });
  return {
    phase: 'Running',
    conditions: [
      condition('PodReadyToStartContainers', 'True'),
      condition('Initialized', 'True'),
      condition('Ready', ready),
      condition('ContainersReady', ready),
      condition('PodScheduled', 'True'),
    ],
    hostIP: p.hostIP,
    hostIPs: [{ ip: p.hostIP }],
    podIP: p.podIP,
    podIPs: [{ ip: p.podIP }],
    startTime: p.now,
    qosClass: 'Burstable',
    containerStatuses: p.containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `${c.image.split(':')[0]}@sha256:${sha256(c.image)}`,
      containerID: `containerd://${sha256(`${p.seed}/${c.name}`)}`,
      ready: p.ready,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: p.now } },
      lastState: {},
    })),
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
