/**
 * A plain S3 bucket (any S3-compatible endpoint) as one end of a replication (ports.ts
 * `ObjectSide`). Credentials are the function's own (its environment and role), or those of
 * the Secrets Manager secret the side names (secret-credentials.ts); a request never carries
 * any.
 */

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  type CopiedVersion,
  collect,
  type ObjectSide,
  SourceChangedError,
  sameSecond,
  UploadGoneError,
} from '../../replication/index.ts';
import { SDK_CLIENT_OPTIONS } from '../clients.ts';
import type { SecretIdentityProvider } from './secret-credentials.ts';

function missing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/** S3's NoSuchUpload (aborted, by a lifecycle rule or by hand) as UploadGoneError. */
function noSuchUpload(what: string) {
  return (err: unknown): never => {
    if ((err as { name?: string })?.name === 'NoSuchUpload')
      throw new UploadGoneError(what, 'S3 has no such upload (aborted)', { cause: err });
    throw err;
  };
}

/** A client per outside endpoint, region and secret, made once per process. */
const clients = new Map<string, S3Client>();

/**
 * The client for a bucket side: the function's own for its own S3, else one for the side's
 * endpoint and region, signing with the side's secret (`credentialsOf`) when it names one.
 */
/** The object metadata (`x-amz-meta-dsn-source-revision`) naming the source revision copied. */
const SOURCE_REVISION = 'dsn-source-revision';

function metadataOf(copied: CopiedVersion | undefined): { Metadata?: Record<string, string> } {
  return copied?.revision ? { Metadata: { [SOURCE_REVISION]: copied.revision } } : {};
}

export function bucketClient(
  fallback: S3Client,
  side: { endpoint?: string; region?: string; secret?: string },
  credentialsOf: (secret: string) => SecretIdentityProvider,
): S3Client {
  if (!side.endpoint && !side.region && !side.secret) return fallback;
  const id = JSON.stringify([side.endpoint ?? '', side.region ?? '', side.secret ?? '']);
  let client = clients.get(id);
  if (!client) {
    client = new S3Client({
      ...SDK_CLIENT_OPTIONS,
      ...(side.endpoint ? { endpoint: side.endpoint, forcePathStyle: true } : {}),
      ...(side.region ? { region: side.region } : {}),
      ...(side.secret ? { credentials: credentialsOf(side.secret) } : {}),
    });
    clients.set(id, client);
  }
  return client;
}

export function bucketSide(s3: S3Client, bucket: string): ObjectSide {
  return {
    async *list(prefix) {
      let token: string | undefined;
      do {
        const out = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix || undefined,
            ContinuationToken: token,
          }),
        );
        for (const o of out.Contents ?? [])
          yield { key: o.Key ?? '', size: o.Size ?? 0, modifiedAt: o.LastModified?.getTime() ?? 0 };
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    },
    async head(key) {
      try {
        const out = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        const copied = out.Metadata?.[SOURCE_REVISION];
        return {
          key,
          size: out.ContentLength ?? 0,
          modifiedAt: out.LastModified?.getTime() ?? 0,
          ...(copied ? { sourceRevision: copied } : {}),
        };
      } catch (err) {
        if (missing(err)) return undefined;
        throw err;
      }
    },
    async *read(key, start, end, expect) {
      if (end <= start) return;
      const out = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end - 1}` }),
      );
      if (expect) {
        // A bucket keeps no revision: the object's whole size (the range's `/total`) and its
        // Last-Modified second name the version.
        const size = Number(/\/(\d+)$/.exec(out.ContentRange ?? '')?.[1] ?? out.ContentLength);
        const modified = out.LastModified?.getTime() ?? 0;
        if (size !== expect.size || !sameSecond(modified, expect.modifiedAt)) {
          (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
          throw new SourceChangedError(
            `s3://${bucket}/${key}`,
            expect,
            `${size} bytes modified at ${new Date(modified).toISOString()}`,
          );
        }
      }
      yield* out.Body as AsyncIterable<Uint8Array>;
    },
    async put(key, size, body, copied) {
      // An object copied whole is at most a part (larger ones go in parts), so it is read into
      // one buffer first: the SDK then sends its CRC-32 as a header, where a stream goes
      // aws-chunked with a trailing checksum, a copy and a frame for every chunk.
      const bytes = await collect(body, size);
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ...metadataOf(copied) }),
      );
    },
    async startParts(key, copied) {
      const out = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...metadataOf(copied) }),
      );
      if (!out.UploadId) throw new Error(`s3://${bucket}/${key}: no upload id in the answer`);
      return out.UploadId;
    },
    async putPart(key, uploadId, part, body, signal) {
      const out = await s3
        .send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: part,
            Body: body,
          }),
          signal ? { abortSignal: signal } : {},
        )
        .catch(noSuchUpload(`s3://${bucket}/${key}`));
      return out.ETag ?? '';
    },
    async finishParts(key, uploadId, etags) {
      await s3
        .send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          }),
        )
        .catch(noSuchUpload(`s3://${bucket}/${key}`));
    },
    async abortParts(key, uploadId) {
      await s3
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        .catch((err: unknown) => {
          if ((err as { name?: string }).name !== 'NoSuchUpload') throw err;
        });
    },
    async remove(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
  };
}
