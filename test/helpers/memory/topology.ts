/** An in-memory TopologyStore with the DynamoDB adapter's conditions, for the quorum's logic. */
import { VaultNotFoundError } from '../../../shared/errors.ts';
import type {
  CurrentTopology,
  ProposalMessage,
  ProposalRecord,
  ProposalState,
  Topology,
  TopologyStore,
} from '../../../shared/topology/index.ts';
import { unitNumbers } from '../../../shared/topology/index.ts';

export class MemoryTopologyStore implements TopologyStore {
  readonly records = new Map<string, ProposalRecord>();
  readonly open_ = new Map<string, string>();
  readonly vaults = new Map<string, CurrentTopology & { units?: number[] }>();
  private readonly order: string[] = [];

  private key(vault: string, id: string) {
    return `${vault}/${id}`;
  }

  async get(vault: string, id: string) {
    const r = this.records.get(this.key(vault, id));
    return r && structuredClone(r);
  }

  async list(vault: string) {
    return this.order
      .filter((k) => k.startsWith(`${vault}/`))
      .map((k) => structuredClone(this.records.get(k) as ProposalRecord));
  }

  async put(record: ProposalRecord) {
    const k = this.key(record.vault, record.id);
    if (this.records.has(k)) return;
    this.records.set(k, structuredClone(record));
    this.order.push(k);
  }

  async open(record: ProposalRecord) {
    const slot = `${record.vault}/${record.topology.parent}`;
    const held = this.open_.get(slot);
    if (held !== undefined && held !== record.id) return held;
    this.open_.set(slot, record.id);
    await this.put(record);
    // The same change proposed again after it expired: open again, with no votes.
    const r = this.records.get(this.key(record.vault, record.id));
    if (r?.state === 'expired')
      Object.assign(r, {
        state: 'open',
        votes: [],
        refusals: [],
        createdAt: record.createdAt,
        ...(record.proposer === undefined ? {} : { proposer: record.proposer }),
      });
    return undefined;
  }

  async vote(vault: string, id: string, unit: number) {
    const r = this.records.get(this.key(vault, id));
    if (r?.state === 'open' && !r.votes.includes(unit))
      r.votes = [...r.votes, unit].sort((a, b) => a - b);
    return this.get(vault, id);
  }

  async refuse(vault: string, id: string, unit: number, reason: string) {
    this.records.get(this.key(vault, id))?.refusals.push({ unit, reason });
  }

  async settle(vault: string, id: string, state: ProposalState, currentSince?: number) {
    const r = this.records.get(this.key(vault, id));
    if (!r) return;
    r.state = state;
    if (currentSince !== undefined) r.currentSince = currentSince;
    const slot = `${vault}/${r.topology.parent}`;
    if (state !== 'superseded' && this.open_.get(slot) === id) this.open_.delete(slot);
  }

  async expire(vault: string, id: string, parent?: string | null) {
    const r = this.records.get(this.key(vault, id));
    if (!r) {
      const slot = `${vault}/${parent}`;
      if (parent !== undefined && this.open_.get(slot) === id) this.open_.delete(slot);
      return false;
    }
    const expired = r.state === 'open';
    if (expired) r.state = 'expired';
    const slot = `${vault}/${r.topology.parent}`;
    if (this.open_.get(slot) === id) this.open_.delete(slot);
    return expired;
  }

  async current(vault: string): Promise<CurrentTopology> {
    const v = this.vaults.get(vault);
    if (!v) throw new VaultNotFoundError(vault);
    return { ...(v.id ? { id: v.id } : {}), ...(v.since ? { since: v.since } : {}) };
  }

  async switchVault(
    vault: string,
    from: string | undefined,
    to: { id: string; topology: Topology; since: number },
  ) {
    const v = this.vaults.get(vault);
    if (!v || v.id !== from) return false;
    this.vaults.set(vault, { id: to.id, since: to.since, units: unitNumbers(to.topology) });
    return true;
  }
}

/** A broadcast that keeps what it would send, for the test to deliver (twice, shuffled...). */
export class RecordingBroadcast {
  readonly sent: Array<{ message: ProposalMessage; units: number[] }> = [];
  async send(message: ProposalMessage, units: number[]) {
    this.sent.push({ message: structuredClone(message), units });
  }
}
