/**
 * The listeners system's ports in memory, behaving as the DynamoDB and SQS adapters do (the
 * contract in test/contracts/listener-tables.contract.ts holds both to it): participant entries
 * with versions and conditional removal, initiator entries per node and path, listener records
 * with their counts, the per-key sequence, FIFO node queues, and targets that record what they got.
 */
import type {
  DeliveryStats,
  InitiatorStore,
  Listener,
  ListenerStore,
  NodeMessage,
  NodeQueues,
  ParticipantEntry,
  ParticipantStore,
  SequenceCounter,
  TargetSender,
  WebhookOutcome,
} from '../../../shared/listeners/index.ts';

const at = (...parts: Array<string | number>) => JSON.stringify(parts);

export class MemoryParticipants implements ParticipantStore, SequenceCounter {
  readonly entries = new Map<string, { nodes: Set<number>; version: number }>();
  readonly sequences = new Map<string, number>();
  readonly sentThrough = new Map<string, number>();
  /** Reads made, each with the paths it asked for. */
  readonly reads: string[][] = [];

  async read(vault: string, paths: string[]): Promise<ParticipantEntry[]> {
    this.reads.push([...paths]);
    const found: ParticipantEntry[] = [];
    for (const path of new Set(paths)) {
      const entry = this.entries.get(at(vault, path));
      if (entry && entry.nodes.size > 0)
        found.push({ path, nodes: [...entry.nodes].sort((a, b) => a - b), version: entry.version });
    }
    return found;
  }

  async join(vault: string, path: string, node: number): Promise<void> {
    const entry = this.entries.get(at(vault, path)) ?? { nodes: new Set<number>(), version: 0 };
    entry.nodes.add(node);
    entry.version++;
    this.entries.set(at(vault, path), entry);
  }

  async leave(vault: string, path: string, node: number, version: number): Promise<boolean> {
    const entry = this.entries.get(at(vault, path));
    if (!entry || entry.version !== version) return false;
    entry.nodes.delete(node);
    entry.version++;
    return true;
  }

  async next(vault: string, key: string): Promise<{ sequence: number; sent: number }> {
    const sequence = (this.sequences.get(at(vault, key)) ?? 0) + 1;
    this.sequences.set(at(vault, key), sequence);
    return { sequence, sent: this.sentThrough.get(at(vault, key)) ?? 0 };
  }

  async sent(vault: string, key: string): Promise<number> {
    return this.sentThrough.get(at(vault, key)) ?? 0;
  }

  async markSent(vault: string, key: string, sequence: number): Promise<void> {
    const was = this.sentThrough.get(at(vault, key)) ?? 0;
    if (sequence > was) this.sentThrough.set(at(vault, key), sequence);
  }

  /** The nodes on an entry, for assertions. */
  nodesOn(vault: string, path: string): number[] {
    return [...(this.entries.get(at(vault, path))?.nodes ?? [])].sort((a, b) => a - b);
  }
}

export class MemoryInitiators implements InitiatorStore {
  readonly entries = new Map<string, Map<string, Listener>>();

  async read(node: number, vault: string, paths: string[]): Promise<Map<string, Listener[]>> {
    const found = new Map<string, Listener[]>();
    for (const path of paths)
      found.set(path, [...(this.entries.get(at(node, vault, path))?.values() ?? [])]);
    return found;
  }

  async add(listener: Listener): Promise<void> {
    const key = at(listener.node, listener.vault, listener.path);
    const entry = this.entries.get(key) ?? new Map<string, Listener>();
    entry.set(listener.id, structuredClone(listener));
    this.entries.set(key, entry);
  }

  async remove(listener: Pick<Listener, 'node' | 'vault' | 'path' | 'id'>): Promise<void> {
    this.entries.get(at(listener.node, listener.vault, listener.path))?.delete(listener.id);
  }
}

type Stored = Listener & DeliveryStats & { deadLetters: unknown[] };

export class MemoryListenerStore implements ListenerStore {
  readonly records = new Map<string, Stored>();
  /** The listeners each node serves, by `<vault>#<id>`, as the adapter's member sets. */
  readonly members = new Map<number, Set<string>>();
  /** The time a renewal is judged at (epoch ms): a test world's clock. */
  private readonly now: () => number;

  constructor(now: () => number = () => Date.now()) {
    this.now = now;
  }

  async create(listener: Listener): Promise<void> {
    if (!this.records.has(at(listener.vault, listener.id)))
      this.records.set(at(listener.vault, listener.id), {
        ...structuredClone(listener),
        delivered: 0,
        failed: 0,
        deadLetters: [],
      });
    const members = this.members.get(listener.node) ?? new Set();
    this.members.set(listener.node, members.add(at(listener.vault, listener.id)));
  }

  async get(vault: string, id: string): Promise<(Listener & DeliveryStats) | undefined> {
    const found = this.records.get(at(vault, id));
    if (!found) return undefined;
    const { deadLetters: _, ...rest } = structuredClone(found);
    return rest;
  }

  async list(vault: string): Promise<Listener[]> {
    return [...this.records.values()]
      .filter((l) => l.vault === vault)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map(({ delivered, failed, lastError, lastDeliveredAt, deadLetters, ...l }) =>
        structuredClone(l),
      );
  }

  async delete(listener: Pick<Listener, 'vault' | 'id' | 'node'>): Promise<boolean> {
    const key = at(listener.vault, listener.id);
    this.members.get(listener.node)?.delete(key);
    return this.records.delete(key);
  }

  async renew(vault: string, id: string, expiresAt: number): Promise<Listener | undefined> {
    const found = this.records.get(at(vault, id));
    if (found?.expiresAt === undefined || found.expiresAt * 1000 <= this.now()) return undefined;
    found.expiresAt = expiresAt;
    const { delivered, failed, lastError, lastDeliveredAt, deadLetters, ...l } = found;
    return structuredClone(l);
  }

  async makePermanent(vault: string, id: string): Promise<Listener | undefined> {
    const found = this.records.get(at(vault, id));
    if (!found || (found.expiresAt !== undefined && found.expiresAt * 1000 <= this.now()))
      return undefined;
    delete found.expiresAt;
    const { delivered, failed, lastError, lastDeliveredAt, deadLetters, ...l } = found;
    return structuredClone(l);
  }

  async expiredTemporary(now: number): Promise<Listener[]> {
    return [...this.records.values()]
      .filter((l) => l.expiresAt !== undefined && l.expiresAt * 1000 <= now)
      .map(({ delivered, failed, lastError, lastDeliveredAt, deadLetters, ...l }) =>
        structuredClone(l),
      );
  }

  async nodeLoads(count: number): Promise<number[]> {
    return Array.from({ length: count }, (_, i) => this.members.get(i)?.size ?? 0);
  }

  async delivered(vault: string, id: string, when: Date): Promise<void> {
    const found = this.records.get(at(vault, id));
    if (!found) return;
    found.delivered++;
    found.lastDeliveredAt = when.toISOString();
  }

  async failed(vault: string, id: string, error: string, document: unknown): Promise<void> {
    const found = this.records.get(at(vault, id));
    if (!found) return;
    found.failed++;
    found.lastError = error;
    found.deadLetters.push(document);
  }
}

/** The node queues: messages wait per node, in order, until a test takes them. */
export class MemoryNodeQueues implements NodeQueues {
  readonly queues: NodeMessage[][];
  readonly count: number;

  constructor(count: number) {
    this.count = count;
    this.queues = Array.from({ length: count }, () => []);
  }

  async send(node: number, message: NodeMessage): Promise<void> {
    (this.queues[node] as NodeMessage[]).push(structuredClone(message));
  }

  /** Every message sent so far, to any node. */
  get sent(): number {
    return this.queues.reduce((n, q) => n + q.length, 0);
  }

  /** Takes node `node`'s waiting messages. */
  take(node: number): NodeMessage[] {
    return (this.queues[node] as NodeMessage[]).splice(0);
  }
}

/** What a target got: its kind, where, the body and (webhooks) the headers. */
export interface Sent {
  kind: 'sqs' | 'webhook' | 'lambda';
  to: string;
  body: string;
  headers?: Record<string, string>;
}

/** Targets that record each attempt; `answer` decides a webhook's reply (default 200). */
export class RecordingTargets implements TargetSender {
  readonly sent: Sent[] = [];
  answer: (url: string, attempt: number) => WebhookOutcome = () => ({ status: 200 });
  private readonly attempts = new Map<string, number>();

  async sendToQueue(queueUrl: string, body: string): Promise<void> {
    this.sent.push({ kind: 'sqs', to: queueUrl, body });
  }

  async postWebhook(
    url: string,
    body: string,
    headers: Record<string, string>,
  ): Promise<WebhookOutcome> {
    this.sent.push({ kind: 'webhook', to: url, body, headers });
    const n = (this.attempts.get(url) ?? 0) + 1;
    this.attempts.set(url, n);
    return this.answer(url, n);
  }

  async invokeAsync(functionName: string, body: string): Promise<void> {
    this.sent.push({ kind: 'lambda', to: functionName, body });
  }

  /** The documents delivered to `to`, parsed. */
  documents(to: string): Array<Record<string, unknown>> {
    return this.sent.filter((s) => s.to === to).map((s) => JSON.parse(s.body));
  }
}
