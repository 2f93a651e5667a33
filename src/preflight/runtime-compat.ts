import { clusterModelOf, compareVersions, formatMinor, formatVersion } from '../core/index.ts';
import { type Finding, listSome, type PreflightCheck } from './finding.ts';

/**
 * `runtime-compat`: node-level breaks visible in node info. Docker Engine as the runtime needs dockershim,
 * removed in 1.24; kubelets newer than the target would be downgraded, which Kubernetes does not support.
 */
export const checkRuntimeCompat: PreflightCheck = (snapshot, target, options) => {
  const model = clusterModelOf(snapshot, options.poolLabel);
  const findings: Finding[] = [];
  const docker: string[] = [];
  const ahead: string[] = [];
  const unknownRuntime: string[] = [];
  for (const n of model.nodes) {
    const runtime = n.node.status?.nodeInfo?.containerRuntimeVersion ?? '';
    if (runtime.startsWith('docker://')) docker.push(n.name);
    else if (runtime === '') unknownRuntime.push(n.name);
    if (n.kubelet && compareVersions(n.kubelet, target) > 0) ahead.push(n.name);
  }
  if (docker.length > 0 && target.minor >= 24) {
    findings.push({
      id: 'runtime-compat',
      severity: 'blocker',
      subject: { kind: 'Node', name: docker[0]! },
      message: `${docker.length} node(s) run Docker Engine (${listSome(docker)}); dockershim was removed in 1.24, so their kubelets cannot start at ${formatMinor(target)}`,
      fix: 'move these nodes to containerd or CRI-O (or cri-dockerd) before upgrading',
    });
  }
  if (ahead.length > 0) {
    findings.push({
      id: 'runtime-compat',
      severity: 'warning',
      subject: { kind: 'Node', name: ahead[0]! },
      message: `${ahead.length} node(s) run a kubelet newer than ${formatVersion(target)} (${listSome(ahead)}); they are left as they are`,
      fix: 'check the target version: kubelets are never downgraded',
    });
  }
  if (unknownRuntime.length > 0) {
    findings.push({
      id: 'runtime-compat',
      severity: 'info',
      subject: { kind: 'Node', name: unknownRuntime[0]! },
      message: `${unknownRuntime.length} node(s) report no container runtime version (${listSome(unknownRuntime)})`,
      fix: '',
    });
  }
  return findings;
};
