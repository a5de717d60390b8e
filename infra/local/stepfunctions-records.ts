/**
 * Where the Step Functions shim (stepfunctions.ts) keeps its state machines and executions: one
 * JSON file per record under a folder, named by a hash of the record's ARN. A deleted record is
 * kept as `{..., deleted: true}` and skipped when the folder is read.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class RecordFiles {
  private readonly dir: string;
  private readonly writes = new Map<string, Promise<void>>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Opens `dir`, creating it when missing. */
  static async open(dir: string): Promise<RecordFiles> {
    await mkdir(dir, { recursive: true });
    return new RecordFiles(dir);
  }

  /** Every record in the folder but the deleted ones. */
  async load<T>(): Promise<T[]> {
    const records: T[] = [];
    for (const f of await readdir(this.dir)) {
      if (!f.endsWith('.json')) continue;
      const record = JSON.parse(await readFile(join(this.dir, f), 'utf8'));
      if (!record.deleted) records.push(record);
    }
    return records;
  }

  /**
   * Writes `value` as the record of `arn`. Writes to one file are chained, each a temp file
   * renamed over the last: never torn, never reordered.
   */
  save(arn: string, value: unknown): Promise<void> {
    const file = join(
      this.dir,
      `${createHash('sha256').update(arn).digest('hex').slice(0, 32)}.json`,
    );
    const data = JSON.stringify(value);
    const next = (this.writes.get(file) ?? Promise.resolve()).then(async () => {
      const tmp = `${file}.${randomUUID()}.tmp`;
      await writeFile(tmp, data);
      await rename(tmp, file);
    });
    this.writes.set(
      file,
      next.catch(() => {}),
    );
    return next;
  }

  /** Settles once every write begun so far has. */
  async flushed(): Promise<void> {
    await Promise.all(this.writes.values());
  }
}
