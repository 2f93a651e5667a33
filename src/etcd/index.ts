// The one free-port rule lives with the loopback daemons (src/observe); members are started on such ports.
export { freeLoopbackPort } from '../observe/index.ts';
export type {
  EtcdClientOptions,
  EtcdMember,
  EtcdStatus,
  RangeOptions,
  RangeResult,
  TxnCompare,
  TxnOp,
  TxnResult,
} from './etcd-client.ts';
export { ALL_KEYS, EtcdClient, prefixEnd } from './etcd-client.ts';
export { EtcdError } from './etcd-errors.ts';
export type { EtcdProcess, EtcdProcessOptions } from './etcd-process.ts';
export { DEFAULT_ETCD_BINARY, startEtcd } from './etcd-process.ts';
export type { EtcdTls } from './etcd-transport.ts';
export type { EtcdctlOptions } from './etcdctl.ts';
export { DEFAULT_ETCDCTL_BINARY, EtcdctlError, runEtcdctl } from './etcdctl.ts';
