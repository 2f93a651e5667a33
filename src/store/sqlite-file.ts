/**
 * The SQLite file under the run store, through better-sqlite3. Several processes share one file: the one
 * executing a run writes, `status` and `pause` read or write from other terminals. Hence WAL (readers
 * never wait for the writer), a busy timeout (writers queue instead of failing), and synchronous=FULL so a
 * committed transaction is on disk when the call returns — the engine relies on that before every side
 * effect. A process killed mid-transaction leaves no lock behind: SQLite's locks die with the process.
 */
import Database from 'better-sqlite3';

export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

const BUSY_TIMEOUT_MS = 10_000;

export class SqliteFile {
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(private readonly db: Database.Database) {}

  /** Throws what better-sqlite3 throws (unreadable file, not a database). */
  static open(path: string): SqliteFile {
    const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    try {
      if (path !== ':memory:') db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteFile(db);
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  close(): void {
    this.db.close();
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  /**
   * Runs `fn` in a transaction that takes the write lock at once (BEGIN IMMEDIATE), committed when it returns
   * and rolled back when it throws; inside a transaction already, `fn` simply runs in it.
   * Note: through prepared statements, not exec: a run store opens one per write, and parsing the three
   * statements each time cost more than the rest of a small write.
   */
  immediateTransaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    this.statement('BEGIN IMMEDIATE').run();
    try {
      const result = fn();
      this.statement('COMMIT').run();
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.statement('ROLLBACK').run();
      throw err;
    }
  }

  get(sql: string, values: SqlValue[] = []): Row | undefined {
    return this.statement(sql).get(...values) as Row | undefined;
  }

  all(sql: string, values: SqlValue[] = []): Row[] {
    return this.statement(sql).all(...values) as Row[];
  }

  run(sql: string, values: SqlValue[] = []): { changes: number } {
    return this.statement(sql).run(...values);
  }

  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}
