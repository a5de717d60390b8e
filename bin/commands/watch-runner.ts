/** The loop of `dsn watch`: its queue and listener made, events printed, both removed at the end. */
import { randomBytes } from 'node:crypto';
import { awsClients } from '../../shared/aws/clients.ts';
import { SqsWatchQueues } from '../../shared/aws/listeners/delivery.ts';
import { WATCH_QUEUE_PREFIX, watchQueueName } from '../../shared/listeners/listener.ts';
import { type DsnClient, vaultPath } from '../client.ts';
import { ApiError } from '../errors.ts';

/** A watch's listener lives this long past its last renewal: what a killed watch leaves behind. */
export const WATCH_TTL_SECONDS = 120;
/** Renewed this often, so that a renewal or two may fail before the listener expires. */
const RENEW_MS = 30_000;
/** How long one receive waits for events; a stop cuts it short. */
const RECEIVE_WAIT_SECONDS = 10;

export interface WatchOptions {
  client: DsnClient;
  /**
   * The access key the client signs with: its queue is named for it (watchQueueName), since a
   * key that does not administer the vault may point a listener only at queues named so.
   */
  accessKeyId?: string;
  vault: string;
  path: string;
  json: boolean;
  events?: string[];
  /** One line per event (stdout). */
  out(line: string): void;
  /** What the watch is doing, for the person watching (stderr). */
  note(line: string): void;
}

interface EventLine {
  type?: string;
  vault?: string;
  key?: string;
  revision?: string;
  size?: number;
  sequence?: number;
  time?: string;
}

/** `2026-12-01T12:00:00.000Z  committed  photos/2026/a.jpg  123 B  seq 7  rev r1`. */
export function readableEvent(body: string): string {
  let e: EventLine;
  try {
    e = JSON.parse(body) as EventLine;
  } catch {
    return body;
  }
  const type = String(e.type ?? '?').replace(/^object\./, '');
  const size = e.size === undefined ? '' : `  ${e.size} B`;
  return `${e.time ?? ''}  ${type.padEnd(9)}  ${e.vault}/${e.key}${size}  seq ${e.sequence}  rev ${e.revision}`;
}

/**
 * Watches until SIGINT or SIGTERM, then removes the listener and the queue and resolves. A
 * second signal exits at once, leaving them to expire.
 */
export async function runWatch(o: WatchOptions): Promise<void> {
  const sqs = awsClients().sqs;
  const queues = new SqsWatchQueues(sqs);
  const stop = new AbortController();
  // bin/dsn.ts's own SIGINT and SIGTERM handlers exit at once; a watch has its listener and
  // queue to remove.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      o.note(`${signal} again: exiting; the listener and queue expire by themselves`);
      process.exit(130);
    }
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const unique = randomBytes(8).toString('hex');
  const queueUrl = await queues.create(
    o.accessKeyId === undefined
      ? `${WATCH_QUEUE_PREFIX}${unique}`
      : watchQueueName(o.accessKeyId, unique),
  );
  let listener: { id: string } | undefined;
  let renewal: NodeJS.Timeout | undefined;
  try {
    listener = await o.client.json<{ id: string }>('POST', `${vaultPath(o.vault)}/listeners`, {
      body: {
        path: o.path,
        target: { type: 'sqs', queueUrl },
        ttlSeconds: WATCH_TTL_SECONDS,
        ...(o.events === undefined ? {} : { events: o.events }),
      },
    });
    const at = `${vaultPath(o.vault)}/listeners/${encodeURIComponent(listener.id)}`;
    renewal = setInterval(() => {
      o.client
        .request('PATCH', at, { body: { ttlSeconds: WATCH_TTL_SECONDS } })
        .catch((err: Error) => o.note(`renewing listener ${listener?.id} failed: ${err.message}`));
    }, RENEW_MS);
    o.note(
      `watching ${o.vault}/${o.path} (listener ${listener.id}, queue ${queueUrl}); Ctrl-C to stop`,
    );
    while (!stop.signal.aborted) {
      let messages: Array<{ body: string; receipt: string }>;
      try {
        messages = await queues.receive(queueUrl, RECEIVE_WAIT_SECONDS, stop.signal);
      } catch (err) {
        if (stop.signal.aborted) break;
        throw err;
      }
      for (const m of messages) o.out(o.json ? m.body : readableEvent(m.body));
      await queues.acknowledge(
        queueUrl,
        messages.map((m) => m.receipt),
      );
    }
  } finally {
    clearInterval(renewal);
    if (listener) {
      await o.client
        .request('DELETE', `${vaultPath(o.vault)}/listeners/${encodeURIComponent(listener.id)}`)
        .catch((err) => {
          if (!(err instanceof ApiError && err.status === 404)) throw err;
        });
    }
    await queues.remove(queueUrl);
    o.note(`stopped: removed ${listener ? `listener ${listener.id} and ` : ''}queue ${queueUrl}`);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    sqs.destroy();
  }
}
