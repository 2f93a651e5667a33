/**
 * An etcd v3 client over the member's JSON gateway: no gRPC dependency, the same calls etcdctl makes.
 * Keys and values travel base64-encoded; 64-bit numbers arrive as decimal strings and are kept as strings
 * where they are identifiers (member and cluster ids exceed 2^53) and turned into numbers where they are
 * counts or sizes.
 *
 *   const etcd = new EtcdClient({ endpoint: 'https://10.0.0.1:2379', tls: { cacert, cert, key } });
 *   const { leader, memberId, raftIndex } = await etcd.status();
 */
import { EtcdError } from './etcd-errors.ts';
import { callGateway, type EtcdTls, grpcFailure, loadTls, openGateway } from './etcd-transport.ts';

export interface EtcdClientOptions {
  /** The member's client URL: `http://127.0.0.1:2379`, `https://10.0.0.1:2379`. */
  endpoint: string;
  tls?: EtcdTls;
  /** Wall-clock ms one call may take (a snapshot: before its first bytes). Default 10 s. */
  timeoutMs?: number;
}

/** The answer of /v3/maintenance/status: what one member says about itself and the cluster. */
export interface EtcdStatus {
  endpoint: string;
  clusterId: string;
  memberId: string;
  /** The member id of the current leader ("0" when there is none). */
  leader: string;
  isLeader: boolean;
  version: string;
  /** Bytes of the member's backend database file. */
  dbSize: number;
  raftIndex: number;
  raftAppliedIndex: number;
  raftTerm: number;
  /** The key-value store's revision on this member. */
  revision: number;
  /** Alarms and errors the member reports (NOSPACE, …). */
  errors: string[];
}

export interface EtcdMember {
  id: string;
  /** Empty until a member added with `member add` has started. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface RangeOptions {
  /** Every key starting with `key`. */
  prefix?: boolean;
  /** Every key from `key` up to (not including) this one; '\0' with key '\0' is the whole keyspace. */
  rangeEnd?: string | Buffer;
  /** Only the count, no keys. */
  countOnly?: boolean;
  keysOnly?: boolean;
  limit?: number;
  /** Ask any member, not through the leader (faster, may lag). */
  serializable?: boolean;
  /** Read the keyspace as it was at this revision (pages of one consistent read); default the newest. */
  revision?: number;
}

export interface RangeResult {
  revision: number;
  count: number;
  kvs: { key: string; value: string; modRevision: number; version: number }[];
  more: boolean;
}

/** One condition of a transaction, on one key: etcd's Compare with the EQUAL result. */
export type TxnCompare =
  /** The key's last write was at this revision. */
  | { key: string; modRevision: number }
  /** The key does not exist (its create revision is 0). */
  | { key: string; absent: true };

/** One write of a transaction. */
export type TxnOp = { put: string; value: string } | { delete: string };

export interface TxnResult {
  /** Whether every compare held, so the writes were made. */
  succeeded: boolean;
  /** The store's revision after the transaction: the revision of its writes when it wrote anything. */
  revision: number;
}

/** The whole keyspace, as range arguments. */
export const ALL_KEYS = { key: '\0', rangeEnd: '\0' } as const;

const DEFAULT_TIMEOUT_MS = 10_000;

interface Header {
  cluster_id?: string;
  member_id?: string;
  revision?: string;
  raft_term?: string;
}

export class EtcdClient {
  readonly endpoint: string;
  private readonly tls: ReturnType<typeof loadTls>;
  private readonly timeoutMs: number;

  constructor(options: EtcdClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.tls = loadTls(this.endpoint, options.tls);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async status(): Promise<EtcdStatus> {
    const answer = await this.call<{
      header?: Header;
      version?: string;
      dbSize?: string;
      leader?: string;
      raftIndex?: string;
      raftAppliedIndex?: string;
      raftTerm?: string;
      errors?: string[];
    }>('/v3/maintenance/status', {}, 'read the member status');
    const memberId = answer.header?.member_id ?? '0';
    const leader = answer.leader ?? '0';
    return {
      endpoint: this.endpoint,
      clusterId: answer.header?.cluster_id ?? '0',
      memberId,
      leader,
      isLeader: leader === memberId,
      version: answer.version ?? '',
      dbSize: Number(answer.dbSize ?? 0),
      raftIndex: Number(answer.raftIndex ?? 0),
      raftAppliedIndex: Number(answer.raftAppliedIndex ?? 0),
      raftTerm: Number(answer.raftTerm ?? 0),
      revision: Number(answer.header?.revision ?? 0),
      errors: answer.errors ?? [],
    };
  }

  async memberList(): Promise<EtcdMember[]> {
    const answer = await this.call<{
      members?: {
        ID?: string;
        name?: string;
        peerURLs?: string[];
        clientURLs?: string[];
        isLearner?: boolean;
      }[];
    }>('/v3/cluster/member/list', {}, 'list the members');
    return (answer.members ?? []).map((m) => ({
      id: m.ID ?? '0',
      name: m.name ?? '',
      peerURLs: m.peerURLs ?? [],
      clientURLs: m.clientURLs ?? [],
      isLearner: m.isLearner ?? false,
    }));
  }

  /** Writes `key`; returns the revision of the write. */
  async put(key: string, value: string): Promise<number> {
    const answer = await this.call<{ header?: Header }>(
      '/v3/kv/put',
      { key: b64(key), value: b64(value) },
      `put ${JSON.stringify(key)}`,
    );
    return Number(answer.header?.revision ?? 0);
  }

  /**
   * Makes every write of `ops` at one revision when every compare holds (none: always), nothing otherwise.
   * Note: etcd refuses a transaction of more than --max-txn-ops writes (128 by default) or a request over
   * --max-request-bytes (1.5 MiB by default); callers batch under both.
   */
  async txn(
    compares: TxnCompare[],
    ops: TxnOp[],
    operation = `write ${ops.length} keys`,
  ): Promise<TxnResult> {
    const answer = await this.call<{ header?: Header; succeeded?: boolean }>(
      '/v3/kv/txn',
      {
        compare: compares.map((c) =>
          'absent' in c
            ? { key: b64(c.key), target: 'CREATE', result: 'EQUAL', create_revision: '0' }
            : { key: b64(c.key), target: 'MOD', result: 'EQUAL', mod_revision: String(c.modRevision) },
        ),
        success: ops.map((op) =>
          'put' in op
            ? { request_put: { key: b64(op.put), value: b64(op.value) } }
            : { request_delete_range: { key: b64(op.delete) } },
        ),
      },
      operation,
    );
    // Note: the gateway leaves out false booleans, so a failed compare comes back without `succeeded`.
    return { succeeded: answer.succeeded === true, revision: Number(answer.header?.revision ?? 0) };
  }

  /**
   * Drops every key version older than `revision` that a newer one replaced: the history etcd keeps
   * would otherwise grow with every write until it hits its space quota.
   */
  async compact(revision: number): Promise<void> {
    await this.call('/v3/kv/compaction', { revision: String(revision) }, `compact to revision ${revision}`);
  }

  async range(key: string, options: RangeOptions = {}): Promise<RangeResult> {
    const rangeEnd = options.prefix ? prefixEnd(key) : options.rangeEnd;
    const answer = await this.call<{
      header?: Header;
      count?: string;
      more?: boolean;
      kvs?: { key?: string; value?: string; mod_revision?: string; version?: string }[];
    }>(
      '/v3/kv/range',
      {
        key: b64(key),
        ...(rangeEnd !== undefined ? { range_end: b64(rangeEnd) } : {}),
        ...(options.countOnly ? { count_only: true } : {}),
        ...(options.keysOnly ? { keys_only: true } : {}),
        ...(options.limit ? { limit: options.limit } : {}),
        ...(options.serializable ? { serializable: true } : {}),
        ...(options.revision ? { revision: String(options.revision) } : {}),
      },
      `read ${JSON.stringify(key)}${rangeEnd !== undefined ? ' (a range)' : ''}`,
    );
    return {
      revision: Number(answer.header?.revision ?? 0),
      count: Number(answer.count ?? 0),
      more: answer.more ?? false,
      kvs: (answer.kvs ?? []).map((kv) => ({
        key: unb64(kv.key),
        value: unb64(kv.value),
        modRevision: Number(kv.mod_revision ?? 0),
        version: Number(kv.version ?? 0),
      })),
    };
  }

  /**
   * Asks this member, which must be the leader, to hand leadership to `targetMemberId`. etcd refuses
   * from a follower ("not leader") and to a member that is not a caught-up voter ("bad leader transferee").
   */
  async transferLeadership(targetMemberId: string): Promise<void> {
    await this.call(
      '/v3/maintenance/transfer-leadership',
      { targetID: targetMemberId },
      `move leadership to member ${targetMemberId}`,
    );
  }

  /** Whether the member serves: its /health says true (it has a leader and no alarm). Never throws. */
  async healthy(): Promise<{ healthy: boolean; reason?: string }> {
    try {
      const answer = await callGateway<{ health?: string; reason?: string }>({
        endpoint: this.endpoint,
        operation: 'check health',
        path: '/health',
        body: undefined,
        method: 'GET',
        tls: this.tls,
        timeoutMs: this.timeoutMs,
      });
      if (answer.health === 'true') return { healthy: true };
      return { healthy: false, reason: answer.reason || 'the member says it is not healthy' };
    } catch (err) {
      return { healthy: false, reason: (err as Error).message };
    }
  }

  /**
   * The member's backend database as a v3 snapshot (the bolt file with its SHA-256 appended), chunk by
   * chunk as etcd streams it: the consumer writes each one out before the next is read, so a large
   * database never sits in memory.
   */
  async *snapshot(): AsyncGenerator<Buffer> {
    const operation = 'stream a snapshot';
    const res = await openGateway({
      endpoint: this.endpoint,
      operation,
      path: '/v3/maintenance/snapshot',
      body: {},
      tls: this.tls,
      timeoutMs: this.timeoutMs,
    });
    // The gateway streams one JSON object a line: {"result":{"blob":"<base64>","remaining_bytes":"…"}},
    // or {"error":{…}} when etcd fails midway.
    let pending = '';
    let sawChunk = false;
    const decode = (line: string): Buffer | undefined => {
      if (line.trim() === '') return undefined;
      let parsed: { result?: { blob?: string } };
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new EtcdError(
          this.endpoint,
          operation,
          `HTTP ${res.statusCode}, not JSON: ${line.slice(0, 200)}`,
          true,
        );
      }
      const failure = grpcFailure(parsed);
      if (failure)
        throw new EtcdError(this.endpoint, operation, failure.message, failure.retryable, failure.code);
      sawChunk = true;
      return Buffer.from(parsed.result?.blob ?? '', 'base64');
    };
    try {
      res.setEncoding('utf8');
      for await (const text of res as AsyncIterable<string>) {
        pending += text;
        let newline = pending.indexOf('\n');
        while (newline >= 0) {
          const chunk = decode(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
          if (chunk?.length) yield chunk;
          newline = pending.indexOf('\n');
        }
      }
    } catch (err) {
      if (err instanceof EtcdError) throw err;
      throw new EtcdError(this.endpoint, operation, `the stream broke: ${(err as Error).message}`, true);
    } finally {
      res.destroy();
    }
    const last = decode(pending);
    if (last?.length) yield last;
    if (!sawChunk) throw new EtcdError(this.endpoint, operation, 'the member sent no snapshot data', true);
  }

  private call<T>(path: string, body: unknown, operation: string): Promise<T> {
    return callGateway<T>({
      endpoint: this.endpoint,
      operation,
      path,
      body,
      tls: this.tls,
      timeoutMs: this.timeoutMs,
    });
  }
}

function b64(key: string | Buffer): string {
  return (typeof key === 'string' ? Buffer.from(key, 'utf8') : key).toString('base64');
}

function unb64(text: string | undefined): string {
  return text ? Buffer.from(text, 'base64').toString('utf8') : '';
}

/** The end of the range of keys starting with `prefix`, as etcd's clientv3.GetPrefixRangeEnd computes it. */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = end[i]! + 1;
      return end;
    }
  }
  // Every byte is 0xff (or the prefix is empty): the range runs to the end of the keyspace.
  return Buffer.from([0]);
}
