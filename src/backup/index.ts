export type { BackupEntry, Retention } from './backup-catalog.ts';
export { isSnapshotName, listBackups, pruneBackups, selectPrunable } from './backup-catalog.ts';
export { BackupError } from './backup-error.ts';
export {
  KUBEADM_ETCD_TLS,
  newestBackupOf,
  preflightBackupInput,
  resolveBackupDir,
} from './backup-location.ts';
export type { BackupMetadata } from './backup-metadata.ts';
export { METADATA_FORMAT, metadataPathOf, readMetadata } from './backup-metadata.ts';
export type { DrillBackupOptions, DrillReport } from './drill-backup.ts';
export { drillBackup } from './drill-backup.ts';
export type { RestoreBackupOptions, RestoredBackup } from './restore-backup.ts';
export { restoreBackup } from './restore-backup.ts';
export type { RestoreRunbookInput } from './restore-runbook.ts';
export { restoreRunbook } from './restore-runbook.ts';
export type { SaveBackupOptions, SavedBackup } from './save-backup.ts';
export { saveBackup } from './save-backup.ts';
export type { SnapshotIntegrity } from './snapshot-integrity.ts';
export { checkSnapshotIntegrity } from './snapshot-integrity.ts';
export type { SaveStoreBackupOptions, StoreDrillAnswer } from './store-backup.ts';
export { drillStoreBackup, STORE_SNAPSHOT_EXT, saveStoreBackup } from './store-backup.ts';
export type { SnapshotStatus, VerifiedBackup, VerifyBackupOptions } from './verify-backup.ts';
export { verifyBackup } from './verify-backup.ts';
