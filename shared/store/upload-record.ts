import type { ObjectAttributes } from './object-attributes.ts';

/**
 * How far a dispersal longer than one disperser invocation has come: each invocation (a step)
 * stops at a segment boundary before its time is up and records this for the next.
 */
export interface DispersalProgress {
  /** Invocations that recorded progress: the next one's message names `step`. */
  step: number;
  /** The pending revision being written. */
  revision: string;
  /** Segments sent: the next step begins with this one. */
  segments: number;
  /** Bytes of the staged object those segments hold: the next step reads on from here. */
  offset: number;
  /**
   * The SHA-256 of those bytes so far, saved (`ResumableSha256.save()`); absent when the next
   * step begins the object again (its revision was failed by the commit fence).
   */
  sha256State?: string;
  /** Step `step`'s message is queued (recorded after the send: a crash between leaves it unset). */
  queued?: boolean;
}

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
  /** A dispersal in steps, while it goes on (the disperser's; the API does not answer it). */
  progress?: DispersalProgress;
  /**
   * A `pending` upload's dispersal queued again by a look at it (upload-outcome.ts): the step,
   * and when (epoch ms). The API does not answer it.
   */
  requeued?: { step: number; at: number };
  /**
   * The last follow-up claimed for an upload its dispersal left `pending` (upload-outcome.ts),
   * and when (epoch ms): each delivery of follow-up n that finds the revision still undecided
   * claims n + 1, then sends it. Number 0 once its dispersal begins again. The API does not
   * answer it.
   */
  followUp?: { n: number; at: number };
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
