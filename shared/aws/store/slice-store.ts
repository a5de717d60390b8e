/**
 * SliceStore on S3: one bucket per storage unit, in pool order, each reached through a client of
 * its own region (S3 answers a request sent to another region's endpoint with a redirect).
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { InvalidSliceError, SliceNotFoundError } from '../../errors.ts';
import type { SliceStore, StoredSlice } from '../../store/index.ts';

/** S3's DeleteObjects takes at most 1000 keys per call. */
const DELETE_BATCH = 1000;
/** Tries of a create-only PUT that keeps meeting a concurrent one (409): 20, 40, 80, 160 ms apart. */
const CONFLICT_ATTEMPTS = 5;

/**
 * A GET's body, read into one buffer of its announced length. The SDK's `transformToByteArray`
 * gathers the chunks, then copies them into a new array that is zero-filled first; for slices of
 * megabytes that fill and the chunk list are a share of every read's CPU worth saving.
 * @throws Error when the body is shorter or longer than announced (a cut connection)
 */
export async function bodyBytes(
  body: AsyncIterable<Uint8Array>,
  length: number,
): Promise<Uint8Array> {
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for await (const chunk of body) {
    if (at + chunk.length > length)
      throw new Error(`the body ran past its content-length of ${length} bytes`);
    out.set(chunk, at);
    at += chunk.length;
  }
  if (at !== length) throw new Error(`the body ended at ${at} of its ${length} bytes`);
  return out;
}

export class S3SliceStore implements SliceStore {
  private readonly clients: readonly S3Client[];
  private readonly buckets: readonly string[];

  /** `clients[i]` reaches `buckets[i]`; one client for all when every unit is in one region. */
  constructor(clients: S3Client | readonly S3Client[], buckets: readonly string[]) {
    this.clients = Array.isArray(clients) ? clients : buckets.map(() => clients as S3Client);
    this.buckets = buckets;
    if (this.clients.length !== buckets.length) {
      throw new RangeError(`${this.clients.length} S3 clients for ${buckets.length} unit buckets`);
    }
  }

  private s3(unit: number): S3Client {
    this.bucket(unit);
    return this.clients[unit] as S3Client;
  }

  private bucket(unit: number): string {
    const bucket = this.buckets[unit];
    if (bucket === undefined)
      throw new RangeError(`unit ${unit} is not in the pool of ${this.buckets.length}`);
    return bucket;
  }

  /** A slice PUT that S3 checks against `crc32` on arrival; `createOnly` refuses an existing key. */
  private putSlice(unit: number, key: string, body: Uint8Array, crc32: string, createOnly = false) {
    return this.s3(unit).send(
      new PutObjectCommand({
        Bucket: this.bucket(unit),
        Key: key,
        Body: body,
        ContentLength: body.byteLength,
        ChecksumCRC32: crc32,
        ...(createOnly ? { IfNoneMatch: '*' } : {}),
      }),
    );
  }

  async put(unit: number, key: string, body: Uint8Array, crc32: string): Promise<void> {
    await this.putSlice(unit, key, body, crc32);
  }

  async create(
    unit: number,
    key: string,
    body: Uint8Array,
    crc32: string,
  ): Promise<'created' | 'exists'> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.putSlice(unit, key, body, crc32, true);
        return 'created';
      } catch (err) {
        const name = (err as Error).name;
        if (name === 'PreconditionFailed') return 'exists';
        if (name !== 'ConditionalRequestConflict') throw err;
        // Another create of this key is under way; S3 asks for a retry, which then finds it.
        // One still under way after all tries: what is there by now decides, not a failure.
        if (attempt >= CONFLICT_ATTEMPTS) {
          if (await this.head(unit, key)) return 'exists';
          throw err;
        }
        await new Promise((r) => setTimeout(r, 10 * 2 ** attempt));
      }
    }
  }

  async get(unit: number, key: string, signal?: AbortSignal): Promise<Uint8Array> {
    try {
      const out = await this.s3(unit).send(
        new GetObjectCommand({ Bucket: this.bucket(unit), Key: key }),
        {
          abortSignal: signal,
        },
      );
      if (!out.Body) throw new SliceNotFoundError(unit, key);
      return out.ContentLength === undefined
        ? await out.Body.transformToByteArray()
        : await bodyBytes(out.Body as AsyncIterable<Uint8Array>, out.ContentLength);
    } catch (err) {
      if (err instanceof NoSuchKey || (err as Error).name === 'NoSuchKey') {
        throw new SliceNotFoundError(unit, key, { cause: err });
      }
      // A client that validates responses (the SDK's default; wireDeployment's clients do not,
      // since every slice carries its own CRC-32) checks the body against the CRC-32 S3 stored
      // at PUT time: bytes that rotted since then fail here, and are the same defect.
      if ((err as Error).message?.startsWith('Checksum mismatch')) {
        throw new InvalidSliceError('corrupt', (err as Error).message, key, { cause: err });
      }
      throw err;
    }
  }

  async head(unit: number, key: string): Promise<{ size: number; crc32?: string } | undefined> {
    try {
      const out = await this.s3(unit).send(
        new HeadObjectCommand({ Bucket: this.bucket(unit), Key: key, ChecksumMode: 'ENABLED' }),
      );
      return { size: out.ContentLength ?? 0, crc32: out.ChecksumCRC32 };
    } catch (err) {
      if (err instanceof NotFound || (err as Error).name === 'NotFound') return undefined;
      throw err;
    }
  }

  async *list(unit: number, prefix: string, startAfter?: string): AsyncIterable<StoredSlice> {
    const pages = paginateListObjectsV2(
      { client: this.s3(unit) },
      {
        Bucket: this.bucket(unit),
        Prefix: prefix,
        ...(startAfter ? { StartAfter: startAfter } : {}),
      },
    );
    for await (const page of pages) {
      for (const o of page.Contents ?? []) {
        if (o.Key) yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified };
      }
    }
  }

  async delete(unit: number, keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const out = await this.s3(unit).send(
        new DeleteObjectsCommand({
          Bucket: this.bucket(unit),
          Delete: { Objects: keys.slice(i, i + DELETE_BATCH).map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = out.Errors ?? [];
      if (failed.length > 0) {
        throw new Error(
          `unit ${unit}: ${failed.length} deletes failed, first ${failed[0]?.Key}: ${failed[0]?.Code} ${failed[0]?.Message}`,
        );
      }
    }
  }
}
