import type { KeyRecord, KeyStore } from '../../../shared/access/index.ts';

/** The key table in memory, for unit tests of access control. */
export class MemoryKeyStore implements KeyStore {
  readonly records = new Map<string, KeyRecord>();

  async put(record: KeyRecord): Promise<void> {
    if (this.records.has(record.accessKeyId)) throw new Error(`${record.accessKeyId} exists`);
    this.records.set(record.accessKeyId, structuredClone(record));
  }

  async get(accessKeyId: string): Promise<KeyRecord | undefined> {
    const r = this.records.get(accessKeyId);
    return r && structuredClone(r);
  }

  async listKeys(): Promise<KeyRecord[]> {
    return [...this.records.values()]
      .filter((r) => r.kind === 'key')
      .map((r) => structuredClone(r));
  }

  async disable(accessKeyId: string): Promise<boolean> {
    const r = this.records.get(accessKeyId);
    if (!r) return false;
    r.state = 'disabled';
    return true;
  }
}
