export {
  type ClusterToScenarioOptions,
  type CopiedCluster,
  clusterToScenario,
  controllerKey,
} from './cluster-to-scenario.ts';
