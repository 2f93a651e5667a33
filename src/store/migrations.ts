/**
 * The store's schema, as numbered migrations applied in order; `PRAGMA user_version` records the last one.
 * IMPORTANT: never edit a released migration: add a new one. A store written by a newer Midflight (higher
 * user_version) is refused rather than misread.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'runs, step states and the run log',
    sql: `
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        plan_json TEXT NOT NULL,
        plan_id TEXT NOT NULL,
        plan_hash TEXT NOT NULL,
        cluster_fingerprint TEXT NOT NULL,
        cluster_server TEXT NOT NULL,
        source TEXT NOT NULL,
        target TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        requested_action TEXT,
        request_detail TEXT,
        holder TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER
      );
      CREATE INDEX runs_by_cluster ON runs (cluster_fingerprint, created_at);
      CREATE TABLE step_states (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step_id TEXT NOT NULL,
        node TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 0,
        sub_step TEXT,
        intent TEXT,
        was_already_cordoned INTEGER,
        previous_version TEXT,
        detail TEXT NOT NULL DEFAULT '{}',
        started_at INTEGER,
        finished_at INTEGER,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (run_id, step_id, node)
      );
      CREATE TABLE log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        time INTEGER NOT NULL,
        level TEXT NOT NULL,
        step TEXT,
        node TEXT,
        message TEXT NOT NULL,
        data TEXT
      );
      CREATE INDEX log_by_run ON log (run_id, id);
    `,
  },
  {
    version: 2,
    description: 'what a run executes: the upgrade its plan describes, or the rollback of it',
    // Note: runs recorded before this migration were all upgrades.
    sql: `ALTER TABLE runs ADD COLUMN mode TEXT NOT NULL DEFAULT 'upgrade';`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;
