import type { ObjectAttributes } from './object-attributes.ts';

/** A staged upload as it is stored and returned by the API. */
export type UploadState = 'open' | 'dispersing' | 'committed' | 'failed' | 'pending';

export interface Upload {
  uploadId: string;
  vault: string;
  key: string;
  state: UploadState;
  createdAt: string;
  /** When the record and its staged parts go, completed or not (ISO 8601). */
  expiresAt: string;
  /** Who opened it, for the quota of open uploads (`ip:<address>` until there are keys). */
  caller: string;
  /** The root key id of who opened it, kept on the revision it writes (`RevisionRecord.writer`). */
  writer?: string;
  parts?: number;
  size?: number;
  revision?: string;
  sha256?: string;
  reason?: string;
  failedUnits?: number[];
  /** Content type, disposition and user metadata the object will have. */
  attributes?: ObjectAttributes;
  /** A presigned upload: parts go straight to the staging bucket's multipart upload. */
  presigned?: {
    /** S3's id of the multipart upload. */
    multipartId: string;
    partSize: number;
    /** Parts planned for the size given: 1..parts, the last one shorter. */
    parts: number;
    /** When the part URLs stop working (ISO 8601). */
    urlsExpireAt: string;
  };
}
