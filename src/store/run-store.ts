/**
 * RunStore: the durable record of runs over an embedded SQLite file (see sqlite-file.ts for how several
 * processes share it). Every write is synchronous and in its own transaction, so when a method returns the
 * record is on disk: the engine writes its intent BEFORE a side effect and the outcome AFTER it.
 *
 * Note: another process (the CLI's `pause`/`abort`) may write `requested_action` while a run executes;
 * reads go to the file each time, nothing is cached here.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Clock, RealClock } from '../core/index.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';
import type { RowDetail } from './row-detail.ts';
import type {
  GateEvaluationRecord,
  LogEntry,
  NewGateEvaluation,
  NewLogEntry,
  NewRun,
  RequestedAction,
  RunMode,
  RunRecord,
  RunState,
  StepStatePatch,
  StepStateRecord,
} from './run-types.ts';
import { FINISHED_STATES } from './run-types.ts';
import { type Row, SqliteFile, type SqlValue } from './sqlite-file.ts';

export interface RunStoreOptions {
  clock?: Clock;
  /**
   * Called before every write with the write's sequence number (1, 2, …); throwing aborts the write.
   * Tests use it to kill a run at an exact point, as a crash would.
   */
  beforeWrite?: (writeNumber: number) => void;
}

export class StoreError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export class RunNotFoundError extends Error {
  constructor(readonly runId: string) {
    super(`no run "${runId}" in the state store (see \`midflight history\`)`);
    this.name = 'RunNotFoundError';
  }
}

/** ~/.midflight/state.db: where runs are kept unless --state says otherwise. */
export function defaultStatePath(): string {
  return join(homedir(), '.midflight', 'state.db');
}

export class RunStore {
  private writes = 0;

  private constructor(
    private readonly db: SqliteFile,
    readonly path: string,
    private readonly clock: Clock,
    private readonly beforeWrite?: (writeNumber: number) => void,
  ) {}

  /** Opens (creating if needed) the store file and brings its schema up to date. */
  static open(path: string = defaultStatePath(), options: RunStoreOptions = {}): RunStore {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    let db: SqliteFile;
    try {
      db = SqliteFile.open(path);
    } catch (err) {
      throw new StoreError(`cannot open the state store ${path}: ${(err as Error).message}`, path);
    }
    const store = new RunStore(db, path, options.clock ?? new RealClock(), options.beforeWrite);
    try {
      store.migrate();
    } catch (err) {
      db.close();
      throw err;
    }
    return store;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  /** How many writes this store instance has committed (or attempted). */
  get writeCount(): number {
    return this.writes;
  }

  private migrate(): void {
    const current = Number((this.db.get('PRAGMA user_version') as Row | undefined)?.user_version ?? 0);
    if (current > SCHEMA_VERSION) {
      throw new StoreError(
        `the state store ${this.path} was written by a newer midflight (schema ${current}, this one knows ${SCHEMA_VERSION}); upgrade midflight or use another --state file`,
        this.path,
      );
    }
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      this.inTransaction(() => {
        this.db.exec(m.sql);
        this.db.exec(`PRAGMA user_version = ${m.version}`);
      });
    }
  }

  private inTransaction<T>(fn: () => T): T {
    return this.db.immediateTransaction(fn);
  }

  /** Runs `fn`'s writes as one transaction (one counted write). */
  transaction<T>(fn: () => T): T {
    return this.write(fn);
  }

  private write<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    this.writes++;
    this.beforeWrite?.(this.writes);
    return this.inTransaction(fn);
  }

  createRun(input: NewRun): RunRecord {
    const now = this.clock.now();
    this.write(() =>
      this.db.run(
        `INSERT INTO runs (id, plan_json, plan_id, plan_hash, cluster_fingerprint, cluster_server, source, target,
           state, holder, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
        [
          input.id,
          input.planJson,
          input.planId,
          input.planHash,
          input.clusterFingerprint,
          input.clusterServer,
          input.source,
          input.target,
          input.holder ?? null,
          now,
          now,
        ],
      ),
    );
    return this.mustGetRun(input.id);
  }

  getRun(id: string): RunRecord | undefined {
    const row = this.db.get('SELECT * FROM runs WHERE id = ?', [id]) as Row | undefined;
    return row ? runOf(row) : undefined;
  }

  mustGetRun(id: string): RunRecord {
    const run = this.getRun(id);
    if (!run) throw new RunNotFoundError(id);
    return run;
  }

  /** Newest first. */
  listRuns(filter: { clusterFingerprint?: string; states?: RunState[]; limit?: number } = {}): RunRecord[] {
    const where: string[] = [];
    const values: Array<string | number> = [];
    if (filter.clusterFingerprint) {
      where.push('cluster_fingerprint = ?');
      values.push(filter.clusterFingerprint);
    }
    if (filter.states && filter.states.length > 0) {
      where.push(`state IN (${filter.states.map(() => '?').join(', ')})`);
      values.push(...filter.states);
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, rowid DESC LIMIT ?`;
    values.push(filter.limit ?? 100);
    return (this.db.all(sql, values) as Row[]).map(runOf);
  }

  /** Moves the run to a state; terminal states get a finish time, others clear it. */
  setRunState(
    id: string,
    state: RunState,
    extra: { reason?: string | null; holder?: string } = {},
  ): RunRecord {
    const now = this.clock.now();
    const terminal = FINISHED_STATES.includes(state);
    this.write(() => {
      const changes = this.db.run(
        `UPDATE runs SET state = ?, reason = ?, holder = COALESCE(?, holder), updated_at = ?, finished_at = ?
         WHERE id = ?`,
        [state, extra.reason ?? null, extra.holder ?? null, now, terminal ? now : null, id],
      ).changes;
      if (changes === 0) throw new RunNotFoundError(id);
    });
    return this.mustGetRun(id);
  }

  /**
   * Switches what executing the run does (written before the first side effect of the new mode);
   * `rollbackScope`: the steps whose nodes a rollback returns (default: every node the run upgraded).
   */
  setRunMode(id: string, mode: RunMode, rollbackScope?: string[]): RunRecord {
    const now = this.clock.now();
    this.write(() => {
      const changes = this.db.run(
        'UPDATE runs SET mode = ?, rollback_scope = ?, updated_at = ? WHERE id = ?',
        [mode, rollbackScope ? JSON.stringify(rollbackScope) : null, now, id],
      ).changes;
      if (changes === 0) throw new RunNotFoundError(id);
    });
    return this.mustGetRun(id);
  }

  /**
   * What was last asked of the run (`requestAction`), read alone: the process executing a run polls it every
   * second of its clock, and a whole run record carries the plan, whose JSON grows with the cluster.
   * Undefined when there is no such run.
   */
  runRequest(id: string): Pick<RunRecord, 'requestedAction' | 'requestDetail'> | undefined {
    const row = this.db.get('SELECT requested_action, request_detail FROM runs WHERE id = ?', [id]);
    return row ? requestOf(row) : undefined;
  }

  /** Asks the process executing the run to pause or abort (null clears the request). */
  requestAction(id: string, action: RequestedAction | null, detail?: Record<string, unknown>): RunRecord {
    const now = this.clock.now();
    this.write(() => {
      const changes = this.db.run(
        'UPDATE runs SET requested_action = ?, request_detail = ?, updated_at = ? WHERE id = ?',
        [action, detail ? JSON.stringify(detail) : null, now, id],
      ).changes;
      if (changes === 0) throw new RunNotFoundError(id);
    });
    return this.mustGetRun(id);
  }

  stepStates(runId: string): StepStateRecord[] {
    return (this.db.all('SELECT * FROM step_states WHERE run_id = ? ORDER BY rowid', [runId]) as Row[]).map(
      stepOf,
    );
  }

  /**
   * One row. `D`: the detail of the kind of row the key addresses (row-detail.ts); the engine names it through
   * its accessors (RunContext.nodeRow, …), the one place that pairs a key with a kind.
   */
  stepState<D extends RowDetail = RowDetail>(
    runId: string,
    stepId: string,
    node = '',
  ): StepStateRecord<D> | undefined {
    const row = this.db.get('SELECT * FROM step_states WHERE run_id = ? AND step_id = ? AND node = ?', [
      runId,
      stepId,
      node,
    ]) as Row | undefined;
    return row ? stepOf<D>(row) : undefined;
  }

  /** Creates or updates one step state; `detail` is merged into what is stored. */
  putStepState<D extends RowDetail = RowDetail>(
    runId: string,
    stepId: string,
    node: string,
    patch: StepStatePatch<D>,
  ): StepStateRecord<D> {
    const now = this.clock.now();
    const values = this.write(() => {
      const before = this.stepState(runId, stepId, node);
      const merged = {
        runId,
        stepId,
        node,
        status: 'pending',
        attempt: 0,
        ...before,
        ...stripUndefined(patch),
        detail: mergeDetail(before?.detail ?? {}, patch.detail),
        updatedAt: now,
      };
      const row: SqlValue[] = [
        runId,
        stepId,
        node,
        merged.status,
        merged.attempt,
        patch.subStep === undefined && 'subStep' in patch ? null : (merged.subStep ?? null),
        patch.intent === undefined && 'intent' in patch ? null : (merged.intent ?? null),
        merged.wasAlreadyCordoned === undefined ? null : merged.wasAlreadyCordoned ? 1 : 0,
        merged.previousVersion ?? null,
        JSON.stringify(merged.detail),
        merged.startedAt ?? null,
        patch.finishedAt === undefined && 'finishedAt' in patch ? null : (merged.finishedAt ?? null),
        now,
      ];
      this.db.run(
        `INSERT INTO step_states (${STEP_STATE_COLUMNS.join(', ')})
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id, step_id, node) DO UPDATE SET status = excluded.status, attempt = excluded.attempt,
           sub_step = excluded.sub_step, intent = excluded.intent,
           was_already_cordoned = excluded.was_already_cordoned, previous_version = excluded.previous_version,
           detail = excluded.detail, started_at = excluded.started_at, finished_at = excluded.finished_at,
           updated_at = excluded.updated_at`,
        row,
      );
      return row;
    });
    // Note: the record is read from the values written, as a read of the row would give them (each column's
    // text or number as bound); a RETURNING clause cost as much as the upsert itself, and another read more.
    const row: Row = {};
    for (let i = 0; i < STEP_STATE_COLUMNS.length; i++) row[STEP_STATE_COLUMNS[i]!] = values[i];
    return stepOf<D>(row);
  }

  appendLog(runId: string, entry: NewLogEntry): void {
    this.write(() =>
      this.db.run(
        'INSERT INTO log (run_id, time, level, step, node, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [
          runId,
          this.clock.now(),
          entry.level,
          entry.step ?? null,
          entry.node ?? null,
          entry.message,
          entry.data ? JSON.stringify(entry.data) : null,
        ],
      ),
    );
  }

  recordGateEvaluation(runId: string, e: NewGateEvaluation): void {
    this.write(() =>
      this.db.run(
        `INSERT INTO gate_evaluations (run_id, gate, time, query, value, baseline, verdict, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          runId,
          e.gate,
          e.time,
          e.query,
          finiteOrNull(e.value),
          finiteOrNull(e.baseline),
          e.verdict,
          e.error ?? null,
        ],
      ),
    );
  }

  /** The run's gate evaluations in order; `latest`: only each gate's last one. */
  gateEvaluations(runId: string, options: { latest?: boolean } = {}): GateEvaluationRecord[] {
    const sql = options.latest
      ? `SELECT * FROM gate_evaluations WHERE id IN
           (SELECT MAX(id) FROM gate_evaluations WHERE run_id = ? GROUP BY gate) ORDER BY gate`
      : 'SELECT * FROM gate_evaluations WHERE run_id = ? ORDER BY id';
    return (this.db.all(sql, [runId]) as Row[]).map((r) => ({
      id: Number(r.id),
      runId: String(r.run_id),
      gate: String(r.gate),
      time: Number(r.time),
      query: String(r.query),
      value: optNumber(r.value),
      baseline: optNumber(r.baseline),
      verdict: r.verdict as GateEvaluationRecord['verdict'],
      error: optString(r.error),
    }));
  }

  /** Records gates' baselines; one already recorded for a gate is kept (a run compares with one baseline). */
  putGateBaselines(runId: string, baselines: Record<string, number>): void {
    const now = this.clock.now();
    this.write(() => {
      for (const [gate, value] of Object.entries(baselines))
        this.db.run(
          'INSERT OR IGNORE INTO gate_baselines (run_id, gate, value, recorded_at) VALUES (?, ?, ?, ?)',
          [runId, gate, value, now],
        );
    });
  }

  /** Each gate's baseline, as recorded before the run touched its first node. */
  gateBaselines(runId: string): Record<string, number> {
    const rows = this.db.all('SELECT gate, value FROM gate_baselines WHERE run_id = ? ORDER BY gate', [
      runId,
    ]) as Row[];
    return Object.fromEntries(rows.map((r) => [String(r.gate), Number(r.value)]));
  }

  /** The run's log in order; `afterId` pages on (for `status --follow`). */
  logs(runId: string, options: { afterId?: number; limit?: number } = {}): LogEntry[] {
    return (
      this.db.all('SELECT * FROM log WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?', [
        runId,
        options.afterId ?? 0,
        options.limit ?? 10_000,
      ]) as Row[]
    ).map((r) => ({
      id: Number(r.id),
      runId: String(r.run_id),
      time: Number(r.time),
      level: r.level as LogEntry['level'],
      step: optString(r.step),
      node: optString(r.node),
      message: String(r.message),
      data: r.data ? (JSON.parse(String(r.data)) as Record<string, unknown>) : undefined,
    }));
  }
}

function runOf(r: Row): RunRecord {
  return {
    id: String(r.id),
    planJson: String(r.plan_json),
    planId: String(r.plan_id),
    planHash: String(r.plan_hash),
    clusterFingerprint: String(r.cluster_fingerprint),
    clusterServer: String(r.cluster_server),
    source: String(r.source),
    target: String(r.target),
    state: r.state as RunState,
    mode: (r.mode ?? 'upgrade') as RunMode,
    reason: optString(r.reason),
    ...requestOf(r),
    holder: optString(r.holder),
    rollbackScope: r.rollback_scope ? (JSON.parse(String(r.rollback_scope)) as string[]) : undefined,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    finishedAt: r.finished_at === null || r.finished_at === undefined ? undefined : Number(r.finished_at),
  };
}

function requestOf(r: Row): Pick<RunRecord, 'requestedAction' | 'requestDetail'> {
  return {
    requestedAction: (optString(r.requested_action) as RequestedAction | undefined) ?? undefined,
    requestDetail: r.request_detail
      ? (JSON.parse(String(r.request_detail)) as Record<string, unknown>)
      : undefined,
  };
}

/** The columns of a step state, in the order putStepState writes them. */
const STEP_STATE_COLUMNS = [
  'run_id',
  'step_id',
  'node',
  'status',
  'attempt',
  'sub_step',
  'intent',
  'was_already_cordoned',
  'previous_version',
  'detail',
  'started_at',
  'finished_at',
  'updated_at',
] as const;

function stepOf<D extends RowDetail>(r: Row): StepStateRecord<D> {
  return {
    runId: String(r.run_id),
    stepId: String(r.step_id),
    node: String(r.node),
    status: r.status as StepStateRecord['status'],
    attempt: Number(r.attempt),
    subStep: optString(r.sub_step) as StepStateRecord['subStep'],
    intent: optString(r.intent) as StepStateRecord['intent'],
    wasAlreadyCordoned:
      r.was_already_cordoned === null || r.was_already_cordoned === undefined
        ? undefined
        : Number(r.was_already_cordoned) === 1,
    previousVersion: optString(r.previous_version),
    // Note: the JSON is the row's own, written through the same types (old rows have the same keys).
    detail: JSON.parse(String(r.detail ?? '{}')),
    startedAt: optNumber(r.started_at),
    finishedAt: optNumber(r.finished_at),
    updatedAt: Number(r.updated_at),
  };
}

function optString(v: unknown): string | undefined {
  return v === null || v === undefined ? undefined : String(v);
}

/** NaN and ±Inf are not SQL numbers: stored as NULL (no value). */
function finiteOrNull(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}

function optNumber(v: unknown): number | undefined {
  return v === null || v === undefined ? undefined : Number(v);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const defined: Record<string, unknown> = {};
  for (const key in o) if (o[key] !== undefined) defined[key] = o[key];
  return defined as Partial<T>;
}

function mergeDetail(before: RowDetail, patch: RowDetail | undefined): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...before, ...patch };
  for (const [k, v] of Object.entries(patch ?? {})) if (v === undefined) delete merged[k];
  return merged;
}
