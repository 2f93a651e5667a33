/**
 * Annotations and labels the sandbox reads from objects; each is documented in docs/scenarios.md.
 */

/** On a workload: its synthetic traffic, JSON `{"rps":50,"latencyMs":40,"errorRatio":0.001}`. */
export const TRAFFIC_ANNOTATION = 'sandbox.midflight.dev/traffic';

/** On a Job pod pinned to a node: the version that node's upgrade Job installs, e.g. "v1.31.4". */
export const UPGRADE_TARGET_ANNOTATION = 'upgrade.midflight.dev/target-version';

/** On a workload created by a scenario: the scenario's name. */
export const SCENARIO_LABEL = 'sandbox.midflight.dev/scenario';
