/**
 * What a v3 snapshot file says about itself, read without etcd. A snapshot is etcd's bolt database followed
 * by 32 bytes: the SHA-256 of the database (etcd's maintenance API appends it; `etcdctl snapshot restore`
 * refuses a file whose hash does not match). The bolt file begins with two meta pages, each with a magic
 * number, the page size, the high-water page id and an FNV-1a checksum; the database is exactly
 * high-water page id × page size bytes long.
 *
 * Worked example (an empty etcd): 24,608 bytes = 24,576 of bolt (6 pages of 4,096; meta pgid 6) + 32 of hash.
 * Cut one byte off the end and the hash no longer matches; cut 4,096 and the length no longer equals 6 pages.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';

export const SNAPSHOT_HASH_BYTES = 32;
const BOLT_MAGIC = 0xed0cdaed;
const BOLT_VERSION = 2;
const PAGE_HEADER_BYTES = 16;
/** Bytes of a meta page's fields before its checksum (magic … txid), which the checksum covers. */
const META_CHECKED_BYTES = 56;

export interface SnapshotIntegrity {
  /** Bytes of the whole file. */
  size: number;
  /** SHA-256 (hex) of the whole file, as written in the metadata. */
  sha256: string;
  /** Empty when the file is a whole, unaltered snapshot; else each reason, as a sentence. */
  problems: string[];
}

/** Reads the file once, in a stream; never throws for a bad snapshot, only when the file cannot be read. */
export async function checkSnapshotIntegrity(path: string): Promise<SnapshotIntegrity> {
  const size = statSync(path).size;
  const whole = createHash('sha256');
  const body = createHash('sha256');
  const bodyBytes = Math.max(0, size - SNAPSHOT_HASH_BYTES);
  const head: Buffer[] = [];
  let headBytes = 0;
  const tail: Buffer[] = [];
  let position = 0;
  // The two meta pages are within the first 2 × 64 KiB whatever the page size bolt chose (at most 64 KiB).
  const HEAD_KEEP = 128 * 1024;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    whole.update(chunk);
    const inBody = Math.max(0, Math.min(chunk.length, bodyBytes - position));
    if (inBody > 0) body.update(chunk.subarray(0, inBody));
    if (inBody < chunk.length) tail.push(chunk.subarray(inBody));
    if (headBytes < HEAD_KEEP) {
      head.push(chunk.subarray(0, HEAD_KEEP - headBytes));
      headBytes += Math.min(chunk.length, HEAD_KEEP - headBytes);
    }
    position += chunk.length;
  }
  const problems: string[] = [];
  if (size < SNAPSHOT_HASH_BYTES + 2 * 4096) {
    problems.push(
      `the file is ${size} bytes: too short to be an etcd snapshot (truncated, or not a snapshot)`,
    );
    return { size, sha256: whole.digest('hex'), problems };
  }
  const stored = Buffer.concat(tail);
  if (!body.digest().equals(stored))
    problems.push(
      'its integrity hash does not match its content (the SHA-256 in its last 32 bytes): the file was altered or truncated',
    );
  const bolt = readBoltMeta(Buffer.concat(head));
  if (typeof bolt === 'string') problems.push(bolt);
  else if (bolt.pgid * bolt.pageSize !== bodyBytes)
    problems.push(
      `the database is ${bodyBytes} bytes but its meta page says ${bolt.pgid} pages of ${bolt.pageSize} (${bolt.pgid * bolt.pageSize} bytes): the file was truncated or extended`,
    );
  return { size, sha256: whole.digest('hex'), problems };
}

/** The newest valid meta page of a bolt file's head, or why there is none. */
function readBoltMeta(head: Buffer): { pageSize: number; pgid: number; txid: bigint } | string {
  const first = metaAt(head, 0);
  const pageSize = typeof first === 'string' ? 4096 : first.pageSize;
  const second = metaAt(head, pageSize);
  const valid = [first, second].filter((m) => typeof m !== 'string');
  if (valid.length === 0)
    return `not an etcd snapshot: no valid bolt meta page (${typeof first === 'string' ? first : ''}; ${typeof second === 'string' ? second : ''})`;
  return valid.reduce((a, b) => (b.txid > a.txid ? b : a));
}

function metaAt(head: Buffer, offset: number): { pageSize: number; pgid: number; txid: bigint } | string {
  const start = offset + PAGE_HEADER_BYTES;
  if (head.length < start + META_CHECKED_BYTES + 8) return `meta page at ${offset} is missing`;
  const meta = head.subarray(start, start + META_CHECKED_BYTES + 8);
  if (meta.readUInt32LE(0) !== BOLT_MAGIC) return `meta page at ${offset} has no bolt magic number`;
  if (meta.readUInt32LE(4) !== BOLT_VERSION)
    return `meta page at ${offset} has bolt version ${meta.readUInt32LE(4)}`;
  if (fnv1a64(meta.subarray(0, META_CHECKED_BYTES)) !== meta.readBigUInt64LE(META_CHECKED_BYTES))
    return `meta page at ${offset} fails its checksum`;
  return {
    pageSize: meta.readUInt32LE(8),
    pgid: Number(meta.readBigUInt64LE(40)),
    txid: meta.readBigUInt64LE(48),
  };
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = (1n << 64n) - 1n;

function fnv1a64(bytes: Buffer): bigint {
  let hash = FNV_OFFSET;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK_64;
  return hash;
}
