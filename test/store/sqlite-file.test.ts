import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteFile } from '../../src/store/sqlite-file.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(): SqliteFile {
  const dir = mkdtempSync(join(tmpdir(), 'midflight-sqlite-'));
  dirs.push(dir);
  const db = SqliteFile.open(join(dir, 'state.db'));
  db.exec('CREATE TABLE t (v TEXT)');
  return db;
}

const synchronous = (db: SqliteFile) => Number(db.get('PRAGMA synchronous')?.synchronous);
const FULL = 2;
const NORMAL = 1;

describe('SqliteFile.commit', () => {
  it('syncs a durable transaction to disk and leaves the others to the WAL', () => {
    const db = open();
    expect(db.get('PRAGMA journal_mode')?.journal_mode).toBe('wal');
    expect(synchronous(db)).toBe(NORMAL);
    db.commit(() => {
      expect(synchronous(db)).toBe(FULL);
      db.run('INSERT INTO t VALUES (?)', ['intent']);
    }, true);
    expect(synchronous(db)).toBe(NORMAL);
    db.commit(() => {
      expect(synchronous(db)).toBe(NORMAL);
      db.run('INSERT INTO t VALUES (?)', ['outcome']);
    }, false);
    expect(db.all('SELECT v FROM t').map((r) => r.v)).toEqual(['intent', 'outcome']);
    db.close();
  });

  it('rolls back a transaction that throws, and restores the default after a durable one', () => {
    const db = open();
    expect(() =>
      db.commit(() => {
        db.run('INSERT INTO t VALUES (?)', ['half']);
        throw new Error('crash');
      }, true),
    ).toThrow('crash');
    expect(db.inTransaction).toBe(false);
    expect(synchronous(db)).toBe(NORMAL);
    expect(db.all('SELECT v FROM t')).toEqual([]);
    db.close();
  });
});
