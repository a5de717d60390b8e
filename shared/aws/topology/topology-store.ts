/**
 * TopologyStore on DynamoDB. In the control table: `topology/<vault>/<id>` holds a topology (its
 * canonical document, state and votes), `topology-open/<vault>/<parent>` the one open proposal
 * on a parent, and `topologies/<vault>` the ids in the order they were stored. The vault's
 * pointer to its current topology is the `topology` attribute of its item in the vaults table,
 * so a switch is one conditional write on the vault.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { VaultNotFoundError } from '../../errors.ts';
import type {
  CurrentTopology,
  ProposalRecord,
  ProposalState,
  Topology,
  TopologyStore,
} from '../../topology/index.ts';
import { canonicalJson, unitNumbers } from '../../topology/index.ts';
import { conditional, ifCondition } from '../conditional.ts';

const recordKey = (vault: string, id: string) => `topology/${vault}/${id}`;
const openKey = (vault: string, parent: string | null) => `topology-open/${vault}/${parent}`;
const listKey = (vault: string) => `topologies/${vault}`;

function toRecord(item: Record<string, unknown>): ProposalRecord {
  const votes = item.votes instanceof Set ? [...item.votes].map(Number) : [];
  return {
    vault: String(item.vault),
    id: String(item.topologyId),
    topology: JSON.parse(String(item.doc)) as Topology,
    state: String(item.state) as ProposalState,
    votes: votes.sort((a, b) => a - b),
    refusals: (item.refusals as ProposalRecord['refusals'] | undefined) ?? [],
    createdAt: String(item.createdAt),
    ...(item.currentSince === undefined ? {} : { currentSince: Number(item.currentSince) }),
    ...(item.change === undefined ? {} : { change: String(item.change) }),
    ...(item.proposer === undefined ? {} : { proposer: String(item.proposer) }),
  };
}

export class DynamoTopologyStore implements TopologyStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly vaultsTable: string;

  constructor(db: DynamoDBDocumentClient, controlTable: string, vaultsTable: string) {
    this.db = db;
    this.table = controlTable;
    this.vaultsTable = vaultsTable;
  }

  async get(vault: string, id: string): Promise<ProposalRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { id: recordKey(vault, id) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async list(vault: string): Promise<ProposalRecord[]> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { id: listKey(vault) }, ConsistentRead: true }),
    );
    const ids = [...new Set((out.Item?.ids as string[] | undefined) ?? [])];
    const records = await Promise.all(ids.map((id) => this.get(vault, id)));
    return records.filter((r): r is ProposalRecord => r !== undefined);
  }

  async put(record: ProposalRecord): Promise<void> {
    const { votes: _v, id, topology, ...rest } = record;
    // Create-only: a record already there (a genesis recorded by a racing caller) stays.
    await ifCondition(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...rest,
            id: recordKey(record.vault, id),
            topologyId: id,
            doc: canonicalJson(topology),
            units: unitNumbers(topology),
          },
          ConditionExpression: 'attribute_not_exists(id)',
        }),
      ),
    );
    await ifCondition(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: listKey(record.vault) },
          UpdateExpression: 'SET ids = list_append(if_not_exists(ids, :none), :one)',
          // Listed once: a repeated put appends nothing.
          ConditionExpression: 'attribute_not_exists(ids) OR NOT contains(ids, :id)',
          ExpressionAttributeValues: { ':none': [], ':one': [id], ':id': id },
        }),
      ),
    );
  }

  async open(record: ProposalRecord): Promise<string | undefined> {
    const key = openKey(record.vault, record.topology.parent);
    // The one open proposal on this parent: a second is refused, the same one again is not.
    const took = await conditional(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { id: key, proposal: record.id },
          ConditionExpression: 'attribute_not_exists(id) OR proposal = :p',
          ExpressionAttributeValues: { ':p': record.id },
        }),
      ),
    );
    if (!took) {
      const out = await this.db.send(
        new GetCommand({ TableName: this.table, Key: { id: key }, ConsistentRead: true }),
      );
      return String(out.Item?.proposal ?? 'another proposal');
    }
    await this.put(record);
    // The same change proposed again after it expired has the same id, and its record is there,
    // expired: it is opened again, with no votes, or the units would answer it decided and
    // nothing would ever happen. Only while expired: the slot just taken is the only way in.
    await ifCondition(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: recordKey(record.vault, record.id) },
          UpdateExpression: `SET #s = :open, refusals = :none, createdAt = :at${record.proposer === undefined ? '' : ', proposer = :by'} REMOVE votes`,
          ConditionExpression: '#s = :expired',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: {
            ':open': 'open',
            ':expired': 'expired',
            ':none': [],
            ':at': record.createdAt,
            ...(record.proposer === undefined ? {} : { ':by': record.proposer }),
          },
        }),
      ),
    );
    return undefined;
  }

  async vote(vault: string, id: string, unit: number): Promise<ProposalRecord | undefined> {
    const out = await ifCondition(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: recordKey(vault, id) },
          UpdateExpression: 'ADD votes :u',
          // Votes count only while the proposal is open; a decided one keeps its tally.
          ConditionExpression: '#s = :open',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: { ':u': new Set([unit]), ':open': 'open' },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    if (out?.Attributes) return toRecord(out.Attributes);
    return this.get(vault, id);
  }

  async refuse(vault: string, id: string, unit: number, reason: string): Promise<void> {
    await ifCondition(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: recordKey(vault, id) },
          UpdateExpression: 'SET refusals = list_append(if_not_exists(refusals, :none), :one)',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeValues: { ':none': [], ':one': [{ unit, reason }] },
        }),
      ),
    );
  }

  async settle(
    vault: string,
    id: string,
    state: ProposalState,
    currentSince?: number,
  ): Promise<void> {
    const out = await ifCondition(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: recordKey(vault, id) },
          UpdateExpression:
            currentSince === undefined ? 'SET #s = :s' : 'SET #s = :s, currentSince = :since',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: {
            ':s': state,
            ...(currentSince === undefined ? {} : { ':since': currentSince }),
          },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    if (state === 'open' || state === 'superseded' || !out?.Attributes) return;
    // Decided: the parent's open slot is free again, if it was this proposal's.
    await this.freeSlot(vault, JSON.parse(String(out.Attributes.doc)).parent, id);
  }

  async expire(vault: string, id: string, parent?: string | null): Promise<boolean> {
    const out = await ifCondition(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: recordKey(vault, id) },
          UpdateExpression: 'SET #s = :expired',
          // Only an open proposal expires: a decided one (current, lost) keeps its state.
          ConditionExpression: '#s = :open',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: { ':expired': 'expired', ':open': 'open' },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    const record = out?.Attributes ? toRecord(out.Attributes) : await this.get(vault, id);
    if (record && record.state !== 'open') await this.freeSlot(vault, record.topology.parent, id);
    else if (!record && parent !== undefined) await this.freeSlot(vault, parent, id);
    return out !== undefined;
  }

  /** Frees `parent`'s open slot if proposal `id` holds it (another's stays). */
  private async freeSlot(vault: string, parent: string | null, id: string): Promise<void> {
    await ifCondition(
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { id: openKey(vault, parent) },
          ConditionExpression: 'proposal = :p',
          ExpressionAttributeValues: { ':p': id },
        }),
      ),
    );
  }

  async current(vault: string): Promise<CurrentTopology> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.vaultsTable,
        Key: { name: vault },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) throw new VaultNotFoundError(vault);
    return {
      ...(typeof out.Item.topology === 'string' ? { id: out.Item.topology } : {}),
      ...(out.Item.topologySince === undefined ? {} : { since: Number(out.Item.topologySince) }),
    };
  }

  switchVault(
    vault: string,
    from: string | undefined,
    to: { id: string; topology: Topology; since: number },
  ): Promise<boolean> {
    const t = to.topology;
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.vaultsTable,
          Key: { name: vault },
          UpdateExpression:
            'SET units = :units, width = :n, readThreshold = :k, writeThreshold = :t, segmentSize = :s, topology = :id, topologySince = :since',
          // The conditional write on the vault's current id: of proposals with one parent, one wins.
          ConditionExpression:
            from === undefined
              ? 'attribute_exists(#n) AND attribute_not_exists(topology)'
              : 'attribute_exists(#n) AND topology = :from',
          ExpressionAttributeNames: { '#n': 'name' },
          ExpressionAttributeValues: {
            ':units': unitNumbers(t),
            ':n': t.width,
            ':k': t.readThreshold,
            ':t': t.writeThreshold,
            ':s': t.segmentSize,
            ':id': to.id,
            ':since': to.since,
            ...(from === undefined ? {} : { ':from': from }),
          },
        }),
      ),
    );
  }
}
