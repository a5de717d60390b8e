/** Staged uploads' bytes on AWS: parts (and presigned multipart uploads) in the staging bucket. */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  NoSuchUpload,
  PutObjectCommand,
  paginateListObjectsV2,
  paginateListParts,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { MultipartPart, MultipartStaging, StagingStore } from '../../store/index.ts';
import { presignedUrl } from '../presign.ts';

const partKey = (uploadId: string, part: number) =>
  `uploads/${uploadId}/${String(part).padStart(5, '0')}`;

export class S3StagingStore implements StagingStore, MultipartStaging {
  private readonly s3: S3Client;
  private readonly bucket: string;
  /** Signs part URLs: a client that adds no checksum of its own (see presign.ts). */
  private readonly presigner: S3Client | undefined;

  constructor(s3: S3Client, bucket: string, presigner?: S3Client) {
    this.s3 = s3;
    this.bucket = bucket;
    this.presigner = presigner;
  }

  async openMultipart(uploadId: string): Promise<string> {
    // The joined object is staged as part 1: the disperser reads it as any staged upload.
    const out = await this.s3.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: partKey(uploadId, 1) }),
    );
    if (!out.UploadId) throw new Error('S3 answered CreateMultipartUpload with no UploadId');
    return out.UploadId;
  }

  presignPart(
    uploadId: string,
    multipartId: string,
    part: number,
    expiresInSeconds: number,
  ): Promise<string> {
    if (!this.presigner) throw new Error('this staging store was built without a presigner');
    return presignedUrl(
      this.presigner,
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: partKey(uploadId, 1),
        UploadId: multipartId,
        PartNumber: part,
      }),
      expiresInSeconds,
    );
  }

  async listMultipartParts(
    uploadId: string,
    multipartId: string,
  ): Promise<MultipartPart[] | undefined> {
    const parts: MultipartPart[] = [];
    try {
      const pages = paginateListParts(
        { client: this.s3 },
        { Bucket: this.bucket, Key: partKey(uploadId, 1), UploadId: multipartId },
      );
      for await (const page of pages) {
        for (const p of page.Parts ?? [])
          parts.push({ part: p.PartNumber ?? 0, size: p.Size ?? 0, etag: p.ETag ?? '' });
      }
    } catch (err) {
      // Completed (or aborted) already: its parts are joined, or gone.
      if (err instanceof NoSuchUpload || (err as Error).name === 'NoSuchUpload') return undefined;
      throw err;
    }
    return parts.sort((a, b) => a.part - b.part);
  }

  async completeMultipart(
    uploadId: string,
    multipartId: string,
    parts: MultipartPart[],
  ): Promise<void> {
    await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: partKey(uploadId, 1),
        UploadId: multipartId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.part, ETag: p.etag })) },
      }),
    );
  }

  async abortMultipart(uploadId: string, multipartId: string): Promise<void> {
    try {
      await this.s3.send(
        new AbortMultipartUploadCommand({
          Bucket: this.bucket,
          Key: partKey(uploadId, 1),
          UploadId: multipartId,
        }),
      );
    } catch (err) {
      // Aborted (or completed) already.
      if (err instanceof NoSuchUpload || (err as Error).name === 'NoSuchUpload') return;
      throw err;
    }
  }

  async putPart(uploadId: string, part: number, body: Uint8Array): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: partKey(uploadId, part), Body: body }),
    );
  }

  async listParts(uploadId: string): Promise<Array<{ part: number; size: number }>> {
    const parts: Array<{ part: number; size: number }> = [];
    const pages = paginateListObjectsV2(
      { client: this.s3 },
      { Bucket: this.bucket, Prefix: `uploads/${uploadId}/` },
    );
    for await (const page of pages) {
      for (const o of page.Contents ?? []) {
        parts.push({ part: Number(o.Key?.split('/').pop()), size: o.Size ?? 0 });
      }
    }
    return parts.sort((a, b) => a.part - b.part);
  }

  async *readPart(uploadId: string, part: number, from = 0): AsyncIterable<Uint8Array> {
    const out = await this.s3.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: partKey(uploadId, part),
        ...(from > 0 ? { Range: `bytes=${from}-` } : {}),
      }),
    );
    if (!out.Body) return;
    yield* out.Body as AsyncIterable<Uint8Array>;
  }

  async deleteUpload(uploadId: string): Promise<void> {
    const parts = await this.listParts(uploadId);
    for (let i = 0; i < parts.length; i += 1000) {
      await this.s3.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: {
            Objects: parts.slice(i, i + 1000).map((p) => ({ Key: partKey(uploadId, p.part) })),
            Quiet: true,
          },
        }),
      );
    }
  }
}
