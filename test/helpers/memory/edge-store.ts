/** EdgeStore in memory, as DynamoEdgeStore behaves: values copied in and out, conditional deletes. */
import type {
  AccessScore,
  EdgeGroup,
  EdgeStore,
  PlanRun,
  StagedObject,
} from '../../../shared/edge/index.ts';

const copy = <T>(value: T): T => structuredClone(value);

export class MemoryEdgeStore implements EdgeStore {
  readonly groups = new Map<string, EdgeGroup>();
  readonly scoreItems = new Map<string, AccessScore>();
  readonly stagedItems = new Map<string, StagedObject>();
  last: PlanRun | undefined;

  async putGroup(group: EdgeGroup): Promise<void> {
    this.groups.set(group.name, copy(group));
  }
  async getGroup(name: string): Promise<EdgeGroup | undefined> {
    return copy(this.groups.get(name));
  }
  async listGroups(): Promise<EdgeGroup[]> {
    return [...this.groups.values()].map(copy);
  }
  async updateScore(
    group: string,
    vault: string,
    key: string,
    next: (previous: { score: number; at: number } | undefined) => { score: number; at: number },
  ): Promise<void> {
    const id = JSON.stringify([group, vault, key]);
    this.scoreItems.set(id, { group, vault, key, ...next(this.scoreItems.get(id)) });
  }
  async scores(group: string): Promise<AccessScore[]> {
    return [...this.scoreItems.values()].filter((s) => s.group === group).map(copy);
  }
  async deleteScore(stored: AccessScore): Promise<boolean> {
    const id = JSON.stringify([stored.group, stored.vault, stored.key]);
    const now = this.scoreItems.get(id);
    if (!now || now.score !== stored.score || now.at !== stored.at) return false;
    this.scoreItems.delete(id);
    return true;
  }
  async putStaged(staged: StagedObject): Promise<void> {
    this.stagedItems.set(JSON.stringify([staged.group, staged.vault, staged.key]), copy(staged));
  }
  async getStaged(group: string, vault: string, key: string): Promise<StagedObject | undefined> {
    return copy(this.stagedItems.get(JSON.stringify([group, vault, key])));
  }
  async listStaged(group: string): Promise<StagedObject[]> {
    return [...this.stagedItems.values()].filter((s) => s.group === group).map(copy);
  }
  async deleteStaged(group: string, vault: string, key: string, revision: string): Promise<void> {
    const id = JSON.stringify([group, vault, key]);
    if (this.stagedItems.get(id)?.revision === revision) this.stagedItems.delete(id);
  }
  async putRun(run: PlanRun): Promise<void> {
    this.last = copy(run);
  }
  async lastRun(): Promise<PlanRun | undefined> {
    return copy(this.last);
  }
}
