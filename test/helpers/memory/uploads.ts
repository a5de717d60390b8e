/**
 * Staged uploads in memory, as `shared/aws/store/` keeps them: parts as objects of a staging
 * bucket (staging.ts), upload records as conditional writes on control-table items
 * (upload-store.ts), a dispersal queue that keeps what it was given (dispersal-queue.ts).
 */
import { NoSuchKey } from '@aws-sdk/client-s3';
import { type Clock, systemClock } from '../../../shared/clock.ts';
import type {
  DispersalProgress,
  DispersalQueue,
  StagingStore,
  Upload,
  UploadState,
  UploadStore,
} from '../../../shared/store/index.ts';
import { MemoryBucket } from './bucket.ts';
import { conditionFailed, document, ValidationException } from './documents.ts';

const partKey = (uploadId: string, part: number) =>
  `uploads/${uploadId}/${String(part).padStart(5, '0')}`;

export class MemoryStagingStore implements StagingStore {
  private readonly bucket: MemoryBucket;

  constructor(clock: Clock = systemClock) {
    this.bucket = new MemoryBucket(clock);
  }

  async putPart(uploadId: string, part: number, body: Uint8Array): Promise<void> {
    this.bucket.put(partKey(uploadId, part), body);
  }

  async listParts(uploadId: string): Promise<Array<{ part: number; size: number }>> {
    return this.bucket
      .keys(`uploads/${uploadId}/`)
      .map((key) => ({
        part: Number(key.split('/').pop()),
        size: this.bucket.get(key)?.body.byteLength ?? 0,
      }))
      .sort((a, b) => a.part - b.part);
  }

  async *readPart(uploadId: string, part: number, from = 0): AsyncIterable<Uint8Array> {
    const found = this.bucket.get(partKey(uploadId, part));
    if (!found) {
      throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
    }
    if (from > 0 && from >= found.body.byteLength) {
      // S3 answers a range past the end 416.
      throw Object.assign(new Error('The requested range is not satisfiable'), {
        name: 'InvalidRange',
      });
    }
    if (found.body.byteLength > from) yield found.body.subarray(from);
  }

  async deleteUpload(uploadId: string): Promise<void> {
    for (const key of this.bucket.keys(`uploads/${uploadId}/`)) this.bucket.delete(key);
  }
}

export class MemoryUploadStore implements UploadStore {
  private readonly items = new Map<string, Upload>();

  /** How many uploads are stored. */
  get size(): number {
    return this.items.size;
  }

  async create(upload: Upload): Promise<void> {
    if (this.items.has(upload.uploadId)) throw conditionFailed(`upload ${upload.uploadId} exists`);
    this.items.set(upload.uploadId, document(upload));
  }

  async get(uploadId: string): Promise<Upload | undefined> {
    const item = this.items.get(uploadId);
    return item && document(item);
  }

  async transition(
    uploadId: string,
    from: UploadState[],
    fields: Partial<Upload>,
  ): Promise<boolean> {
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    // The adapter's expression would be `SET ` or `#state IN ()`: DynamoDB refuses both.
    if (from.length === 0) throw new ValidationException('transition needs a state to come from');
    if (entries.length === 0) throw new ValidationException('transition needs a field to set');
    const item = this.items.get(uploadId);
    if (!item || !from.includes(item.state)) return false;
    Object.assign(item, document(Object.fromEntries(entries)));
    return true;
  }

  async advance(uploadId: string, progress: DispersalProgress): Promise<boolean> {
    const item = this.items.get(uploadId);
    if (item?.state !== 'dispersing' || (item.progress?.step ?? 0) !== progress.step - 1)
      return false;
    item.progress = document(progress);
    return true;
  }

  async claimRevision(
    uploadId: string,
    revision: string,
    previous: string | undefined,
  ): Promise<boolean> {
    const item = this.items.get(uploadId);
    if (item?.state !== 'dispersing' || item.revision !== previous) return false;
    item.revision = revision;
    return true;
  }

  async markRequeued(
    uploadId: string,
    step: number,
    now: number,
    staleBefore: number,
  ): Promise<boolean> {
    const item = this.items.get(uploadId);
    if (
      item?.state !== 'pending' ||
      !claimable(item.requeued?.step, item.requeued, step, staleBefore)
    )
      return false;
    item.requeued = { step, at: now };
    return true;
  }

  async claimFollowUp(
    uploadId: string,
    n: number,
    now: number,
    staleBefore: number,
  ): Promise<boolean> {
    const item = this.items.get(uploadId);
    if (item?.state !== 'pending' || !claimable(item.followUp?.n, item.followUp, n, staleBefore))
      return false;
    item.followUp = { n, at: now };
    return true;
  }

  async markStepQueued(uploadId: string, step: number): Promise<void> {
    const progress = this.items.get(uploadId)?.progress;
    if (progress?.step === step) progress.queued = true;
  }

  /** caller -> upload id -> expiry (epoch ms), as the adapter's quota item. */
  private readonly open = new Map<string, Map<string, number>>();

  async admit(
    caller: string,
    uploadId: string,
    expiresAt: number,
    quota: number,
    now: number,
  ): Promise<boolean> {
    let ids = this.open.get(caller);
    if (!ids) {
      ids = new Map();
      this.open.set(caller, ids);
    }
    if (ids.has(uploadId)) return true;
    for (const [id, until] of ids) if (until <= now) ids.delete(id);
    if (ids.size >= quota) return false;
    ids.set(uploadId, expiresAt);
    return true;
  }

  async release(caller: string, uploadId: string): Promise<void> {
    this.open.get(caller)?.delete(uploadId);
  }
}

/**
 * Whether a mark holding number `held` (set at `mark.at`) may be claimed for `value`, as the
 * adapter's condition: nothing later held, and `value` itself only once stale.
 */
function claimable(
  held: number | undefined,
  mark: { at: number } | undefined,
  value: number,
  staleBefore: number,
): boolean {
  if (held === undefined || mark === undefined) return true;
  return held < value || (held === value && mark.at < staleBefore);
}

export class MemoryDispersalQueue implements DispersalQueue {
  /** Upload ids in the order they were enqueued (at least once, as SQS delivers). */
  readonly enqueued: string[] = [];
  /** The messages, as the queue would carry them. */
  readonly messages: Array<{ uploadId: string; step?: number }> = [];

  /** As the deployment's queue (serverless.yml): six times the disperser's 900 s. */
  redeliveryMs = 5_400_000;

  async redeliveryDelayMs(): Promise<number> {
    return this.redeliveryMs;
  }

  async enqueue(uploadId: string, step = 0): Promise<void> {
    this.enqueued.push(uploadId);
    this.messages.push(step === 0 ? { uploadId } : { uploadId, step });
  }

  /** Follow-ups of pending uploads, apart from the steps, with the delay each was sent with. */
  readonly followUps: Array<{ uploadId: string; followUp: number; delaySeconds: number }> = [];

  async follow(uploadId: string, followUp: number, delaySeconds: number): Promise<void> {
    this.followUps.push({ uploadId, followUp, delaySeconds });
  }
}
