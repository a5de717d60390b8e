/**
 * SlicePresigner on S3: a presigned PutObject per slice, in its unit's bucket, with the slice's
 * CRC-32, its size and `If-None-Match: *` signed in as headers. S3 refuses the PUT when the bytes
 * do not match the checksum (400 BadDigest), when the URL has expired, when it is used for
 * another key (the key is part of the signature), and when the key already holds a slice (412
 * PreconditionFailed): a client can place each slice once, and nothing else. Without the last, a
 * URL still valid after the commit (they live up to an hour) could replace a slice the scan had
 * read with other bytes forged to the same CRC-32, which takes four chosen bytes. A presigned
 * GetObject lets a client read one slice, for as long as the URL works, and nothing else.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SlicePresigner } from '../../store/index.ts';
import { presignedUrl } from '../presign.ts';

/**
 * The headers the caller must send as signed: S3 checks the body against the first, and the
 * last makes the PUT create-only.
 */
const SIGNED = ['x-amz-checksum-crc32', 'content-length', 'if-none-match'];

export class S3SlicePresigner implements SlicePresigner {
  private readonly clients: readonly S3Client[];
  private readonly buckets: readonly string[];

  /** `clients[i]` signs for `buckets[i]`: clients that add no checksum of their own. */
  constructor(clients: readonly S3Client[], buckets: readonly string[]) {
    this.clients = clients;
    this.buckets = buckets;
  }

  presignGet(unit: number, key: string, expiresInSeconds: number): Promise<string> {
    const { client, bucket } = this.target(unit);
    return presignedUrl(
      client,
      new GetObjectCommand({ Bucket: bucket, Key: key }),
      expiresInSeconds,
    );
  }

  private target(unit: number): { client: S3Client; bucket: string } {
    const client = this.clients[unit];
    const bucket = this.buckets[unit];
    if (!client || bucket === undefined)
      throw new RangeError(`unit ${unit} is not in the pool of ${this.buckets.length}`);
    return { client, bucket };
  }

  presignPut(
    unit: number,
    key: string,
    crc32: string,
    size: number,
    expiresInSeconds: number,
  ): Promise<string> {
    const { client, bucket } = this.target(unit);
    return presignedUrl(
      client,
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        ChecksumCRC32: crc32,
        ContentLength: size,
        IfNoneMatch: '*',
      }),
      expiresInSeconds,
      { signedHeaders: SIGNED },
    );
  }
}
