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
  {
    version: 3,
    description:
      "health gates: every evaluation, each gate's baseline, and the steps a gate's rollback returns",
    // Note: a baseline is recorded once per run and gate (before the first node is touched); a resumed run
    // reads it back so that it compares with the same one. rollback_scope NULL: every node the run upgraded.
    sql: `
      CREATE TABLE gate_evaluations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        gate TEXT NOT NULL,
        time INTEGER NOT NULL,
        query TEXT NOT NULL,
        value REAL,
        baseline REAL,
        verdict TEXT NOT NULL,
        error TEXT
      );
      CREATE INDEX gate_evaluations_by_run ON gate_evaluations (run_id, gate, id);
      CREATE TABLE gate_baselines (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        gate TEXT NOT NULL,
        value REAL NOT NULL,
        recorded_at INTEGER NOT NULL,
        PRIMARY KEY (run_id, gate)
      );
      ALTER TABLE runs ADD COLUMN rollback_scope TEXT;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;
