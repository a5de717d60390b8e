/**
 * S3, SNS and SQS for the local cloud: fauxqs, embedded. Queues, topics and subscriptions
 * persist in SQLite under `<dataDir>/fauxqs`; S3 objects are plain files under
 * `<dataDir>/s3/buckets/<bucket>/objects/<key>.data`, so slices can be seen on disk. A PutObject
 * body of 64 KiB or more is read into a reused buffer and lands in `<dataDir>/s3/incoming` before
 * fauxqs's handler renames it into place (s3-body-pool.ts, s3-incoming.ts).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { fauxqsModule } from './fauxqs-module.ts';
import { patchOnce } from './patch-once.ts';
import { writeS3FilesInPieces } from './piecewise-writes.ts';
import { freeLoopbackPort, withLoopbackListen } from './ports.ts';
import { poolPutBodies, putBodyPool } from './s3-body-pool.ts';
import { installConditionalWrites, type ObjectLookup } from './s3-conditional.ts';
import { digestPutBody, takeKnownDigests } from './s3-digests.ts';
import { land, landBodiesOf, renameLandedBodies } from './s3-incoming.ts';
import { listInS3KeyOrder } from './s3-key-order.ts';
import { installListParts, type MultipartLookup } from './s3-list-parts.ts';
import { verifyPutChecksums } from './s3-presigned.ts';
import { readRangesOnly, scopeRangedGets } from './s3-ranged-reads.ts';
import { recoverS3Store } from './s3-recovery.ts';

interface QueueStore {
  createQueue(name: string, url: string, ...rest: unknown[]): unknown;
  dsnQueueBase?: string;
}

let nextQueueBase = '';

/**
 * fauxqs names queues `http://sqs.<region>.localhost:<port>/...`, and the AWS SDK for
 * JavaScript sends SQS calls to the queue URL's host whenever the endpoint came from
 * `AWS_ENDPOINT_URL_SQS`. `*.localhost` does not resolve everywhere, and a URL persisted by an
 * earlier run keeps an old port; so every queue, created or reloaded, gets a URL on the
 * address this run listens on. fauxqs finds queues by name whatever the host, so nothing else
 * changes. (fauxqs exposes no option for this: its store's host defaults to "localhost".)
 */
async function pinQueueUrls(): Promise<void> {
  const { SqsStore } = (await fauxqsModule('./sqs/sqsStore.js')) as {
    SqsStore: { prototype: QueueStore };
  };
  patchOnce(
    SqsStore.prototype,
    'pinned-queue-urls',
    ['createQueue'],
    (original) =>
      function (this: QueueStore, name: string, _url: string, ...rest: unknown[]) {
        this.dsnQueueBase ??= nextQueueBase;
        return original.call(this, name, `${this.dsnQueueBase}/000000000000/${name}`, ...rest);
      },
  );
}

interface SqlitePersistence {
  db: { exec(sql: string): void };
  load(...args: unknown[]): unknown;
  loadSqsAndSns(...args: unknown[]): unknown;
}

/**
 * fauxqs keeps every message in SQLite (WAL) with the default `synchronous = FULL`: each send,
 * receive and delete waits for an fsync (about 2 ms here), on the one thread that also serves S3
 * and DynamoDB. `NORMAL` still survives a crash of this process (WAL); only a power loss may
 * drop the last moments, acceptable for a local cloud. fauxqs has no option for it; its
 * persistence loads its state before serving anything, so the pragma goes in there.
 */
async function relaxSqliteSync(): Promise<void> {
  const { PersistenceManager } = (await fauxqsModule('./persistence.js')) as {
    PersistenceManager: { prototype: SqlitePersistence };
  };
  patchOnce(
    PersistenceManager.prototype,
    'sqlite-synchronous-normal',
    ['load', 'loadSqsAndSns'],
    (original) =>
      function (this: SqlitePersistence, ...args: unknown[]) {
        this.db.exec('PRAGMA synchronous = NORMAL');
        return original.apply(this, args);
      },
  );
}

interface Subscription {
  attributes: { FilterPolicy?: string };
  parsedFilterPolicy?: unknown;
  dsnPolicyFrom?: string;
}

/**
 * A filter policy as SNS applies it to String.Array attributes, in terms fauxqs matches. SNS
 * matches a String.Array attribute when any of its elements matches a condition; fauxqs compares
 * the array's JSON text as one string. So each exact string condition also becomes a wildcard
 * on that text: `"unit/3"` matches `["unit/1","unit/3"]` through `*"unit/3"*` (the quotes keep
 * `unit/33` from matching). Conditions holding `*` or `"` are left as they are.
 */
export function stringArrayAware(policy: unknown): unknown {
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) return policy;
  return Object.fromEntries(
    Object.entries(policy).map(([key, conditions]) => {
      if (key === '$or' && Array.isArray(conditions))
        return [key, conditions.map(stringArrayAware)];
      if (!Array.isArray(conditions)) return [key, conditions];
      return [
        key,
        conditions.flatMap((c) =>
          typeof c === 'string' && !/[*"]/.test(c) ? [c, { wildcard: `*"${c}"*` }] : [c],
        ),
      ];
    }),
  );
}

/**
 * fauxqs has no String.Array matching (see stringArrayAware), and the network topic routes on
 * one (`dsn-to`). Its publish reads each subscription's parsed policy from the subscription
 * object, parsing it once; it is handed the translated policy instead, whenever the policy text
 * changes.
 */
async function matchStringArrays(): Promise<void> {
  const { SnsStore } = (await fauxqsModule('./sns/snsStore.js')) as {
    SnsStore: { prototype: { getSubscription(arn: string): Subscription | undefined } };
  };
  patchOnce(
    SnsStore.prototype,
    'string-array-policies',
    ['getSubscription'],
    (original) =>
      function (this: unknown, arn: string) {
        const sub = original.call(this, arn);
        const text = sub?.attributes.FilterPolicy;
        if (sub && text !== undefined && sub.dsnPolicyFrom !== text) {
          try {
            sub.parsedFilterPolicy = stringArrayAware(JSON.parse(text));
          } catch {
            // fauxqs parses it again and decides what a malformed policy does.
            sub.parsedFilterPolicy = undefined;
          }
          sub.dsnPolicyFrom = text;
        }
        return sub;
      },
  );
}

let loadedS3Store: ObjectLookup | undefined;

/**
 * fauxqs does not hand out its S3 object store, which the conditional-write layer asks whether a
 * key exists; its file persistence is given that store to load into, just before the server
 * listens, so it is taken from there. (Starts do not overlap; see withLoopbackListen.)
 */
async function captureS3Store(): Promise<void> {
  const { FileS3Persistence } = (await fauxqsModule('./s3/fileS3Persistence.js')) as {
    FileS3Persistence: { prototype: { loadS3(store: ObjectLookup): void } };
  };
  patchOnce(
    FileS3Persistence.prototype,
    'capture-s3-store',
    ['loadS3'],
    (original) =>
      function (this: unknown, store: ObjectLookup) {
        loadedS3Store = store;
        return original.call(this, store);
      },
  );
}

export interface FauxqsOptions {
  port: number;
  dataDir: string;
  region: string;
  /** The variable that sets `port`, named in the error when it is taken. */
  portVariable: string;
  /**
   * Sees the emulator's HTTP server before it listens (to put fault injection in front), with
   * what its S3 store knows of buckets.
   */
  onServer?: (server: import('node:http').Server, s3: { hasBucket(name: string): boolean }) => void;
  /** Start-up notices: what crash recovery found in the S3 store. */
  log?: (line: string) => void;
}

export interface FauxqsHandle {
  url: string;
  port: number;
  server: FauxqsServer;
  stop(): Promise<void>;
}

export async function startS3SnsSqs(opts: FauxqsOptions): Promise<FauxqsHandle> {
  const sqlDir = join(opts.dataDir, 'fauxqs');
  const s3Dir = join(opts.dataDir, 's3');
  await mkdir(sqlDir, { recursive: true });
  await mkdir(s3Dir, { recursive: true });
  // A previous run killed mid-write may have left half an object behind; see s3-recovery.ts.
  const recovered = recoverS3Store(s3Dir);
  const mended = recovered.strayBodies.length + recovered.tornObjects.length;
  if (mended > 0) {
    opts.log?.(
      `s3: recovered from an interrupted run: removed ${recovered.strayBodies.length} bodies without metadata and ${recovered.tornObjects.length} objects whose body was missing or torn`,
    );
  }
  await pinQueueUrls();
  await relaxSqliteSync();
  await captureS3Store();
  await matchStringArrays();
  await verifyPutChecksums();
  await listInS3KeyOrder();
  await takeKnownDigests();
  await readRangesOnly();
  // A body lands and is hashed at once, both off the loop, before its handler runs.
  await poolPutBodies(putBodyPool, async (req, body) => {
    const [removeUntaken] = await Promise.all([land(req, body), digestPutBody(req, body)]);
    return removeUntaken;
  });
  // Pieces first: a landed body's rename wraps fauxqs's write of everything else.
  await writeS3FilesInPieces();
  await renameLandedBodies();
  loadedS3Store = undefined;
  // Queue URLs carry the port, so it must be known before fauxqs reloads its queues.
  const port = opts.port === 0 ? await freeLoopbackPort() : opts.port;
  nextQueueBase = `http://127.0.0.1:${port}`;
  const server = await withLoopbackListen(
    () =>
      startFauxqs({
        port,
        logger: false,
        defaultRegion: opts.region,
        dataDir: sqlDir,
        s3StorageDir: s3Dir,
        // Parts of a rebuild or a migration copy ranges of small slices too.
        relaxedRules: { disableMinCopySourceSize: true },
      }),
    opts.port,
    opts.portVariable,
    (server) => {
      const store = loadedS3Store;
      if (!store) throw new Error('fauxqs listened before loading its S3 store');
      installConditionalWrites(server as import('node:http').Server, store);
      installListParts(server as import('node:http').Server, store as unknown as MultipartLookup);
      landBodiesOf(server as import('node:http').Server, s3Dir);
      scopeRangedGets(server as import('node:http').Server);
      const buckets = store as unknown as { hasBucket(name: string): boolean };
      opts.onServer?.(server as import('node:http').Server, {
        hasBucket: (name) => buckets.hasBucket(name),
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port,
    server,
    stop: () => server.stop(),
  };
}
