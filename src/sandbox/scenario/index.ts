export { TRAFFIC_ANNOTATION, UPGRADE_TARGET_ANNOTATION } from './annotations.ts';
export { type BuildOptions, type BuiltCluster, buildCluster } from './build-cluster.ts';
export { applyFaults, emptyFaultsSpec, faultSetFromSpec, faultSpecOf } from './faults-spec.ts';
export { decodeHelmRelease, helmReleaseSecret } from './helm-release.ts';
export { listScenarios, loadScenario, type ScenarioListing } from './load-scenario.ts';
export { CONTROL_PLANE_LABEL, POOL_LABEL } from './node-object.ts';
export { parseScenario } from './parse-scenario.ts';
export type { FaultsSpec, Scenario, WorkloadSpec } from './scenario-types.ts';
export { formatIssue, ScenarioError, type ScenarioIssue } from './yaml-checker.ts';
