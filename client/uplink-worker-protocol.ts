/**
 * What a page and its dispersal's Web Worker (uplink-worker.ts) say to each other: the page
 * sends one job (where the API is, its credentials, the file, the options), and the worker runs
 * it with the same uplink the CLI runs and reports back, its errors rebuilt on the page's side
 * as the classes a caller catches. A client object cannot cross to a worker (it holds
 * functions), so the worker signs its API calls itself.
 */
import type { Credentials } from '../shared/access/sigv4.ts';
import { ResumeMismatchError } from './dispersal-state.ts';
import { DsnApiError } from './dsn-client.ts';
import { UnitsUnreachableError } from './slice-http.ts';
import { DsnUnreachableError } from './transport.ts';
import { type UplinkOptions, type UplinkResult, uplinkPut } from './uplink.ts';
import { createWebDsnClient } from './web.ts';
import { chunksOf, readAtOf } from './web-chunks.ts';

/** Where the worker's API calls go, and how they are signed. */
export interface WorkerConnection {
  endpoint: string;
  credentials?: Credentials;
  region?: string;
}

/**
 * The options a worker's dispersal takes: plain data (no slice sender, no callbacks; a resume
 * reads the job's file at offsets by itself).
 */
export type WorkerUplinkOptions = Omit<
  UplinkOptions,
  'putSlice' | 'onProgress' | 'onOpen' | 'signal' | 'readAt'
>;

/** The one message a worker is sent. */
export interface UplinkJob {
  connection: WorkerConnection;
  file: Blob;
  vault: string;
  key: string;
  options: WorkerUplinkOptions;
}

/** An error as it crosses back: enough to rebuild the class the page would have caught. */
export interface SentError {
  name: string;
  message: string;
  status?: number;
  code?: string;
  details?: Record<string, unknown>;
  endpoint?: string;
  cause?: { code?: string; message?: string };
}

/** What a worker says, in order: `open` once, `progress` as slices land, then `done` or `error`. */
export type UplinkReport =
  | { type: 'open'; revision: string }
  | { type: 'progress'; bytes: number }
  | { type: 'done'; result: UplinkResult }
  | { type: 'error'; error: SentError };

/** An error thrown in the worker as the page receives it. */
export function sendableError(err: unknown): SentError {
  const e = err instanceof Error ? err : new Error(String(err));
  const sent: SentError = { name: e.name, message: e.message };
  if (err instanceof DsnApiError)
    Object.assign(sent, { status: err.status, code: err.code, details: err.details });
  if (err instanceof DsnUnreachableError) sent.endpoint = err.endpoint;
  if (err instanceof ResumeMismatchError)
    sent.details = { revision: err.revision, segment: err.segment };
  if (e.cause !== undefined) {
    const c = e.cause as { code?: unknown; message?: unknown };
    sent.cause = {
      ...(typeof c?.code === 'string' ? { code: c.code } : {}),
      message: typeof c?.message === 'string' ? c.message : String(e.cause),
    };
  }
  return sent;
}

/**
 * The class the page catches for an error its worker sent: the API's, the buckets', a resume's
 * from other bytes, or Error.
 */
export function receivedError(sent: SentError): Error {
  if (sent.name === 'DsnApiError')
    return new DsnApiError(sent.status ?? 0, sent.code ?? '', sent.message, sent.details ?? {});
  if (sent.name === 'UnitsUnreachableError') return new UnitsUnreachableError(sent.cause ?? {});
  const { revision, segment } = sent.details ?? {};
  if (
    sent.name === 'ResumeMismatchError' &&
    typeof revision === 'string' &&
    typeof segment === 'number'
  )
    return new ResumeMismatchError(revision, segment);
  if (sent.name === 'DsnUnreachableError' && sent.endpoint !== undefined)
    return new DsnUnreachableError(sent.endpoint, sent.cause ?? {});
  const e = new Error(sent.message);
  e.name = sent.name;
  return e;
}

/** A signed client of the API `connection` names. */
export function clientOf(connection: WorkerConnection) {
  return createWebDsnClient({
    endpoint: connection.endpoint,
    ...(connection.credentials ? { credentials: connection.credentials } : {}),
    ...(connection.region ? { region: connection.region } : {}),
  });
}

/** Runs one job, reporting through `report`. */
export async function runUplinkJob(
  job: UplinkJob,
  report: (r: UplinkReport) => void,
): Promise<void> {
  try {
    const client = clientOf(job.connection);
    const result = await uplinkPut(client, chunksOf(job.file), job.vault, job.key, {
      ...job.options,
      // A resume checks the segments done by reading the file at their offsets, before it
      // places anything (no holding back of what comes before the last done one).
      readAt: readAtOf(job.file),
      onOpen: (revision) => report({ type: 'open', revision }),
      onProgress: (bytes) => report({ type: 'progress', bytes }),
    });
    report({ type: 'done', result });
  } catch (err) {
    report({ type: 'error', error: sendableError(err) });
  }
}
