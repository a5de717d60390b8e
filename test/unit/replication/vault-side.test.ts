/** A vault as a replication side: what its delete answers for a key already gone. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../../shared/clock.ts';
import { VaultNotFoundError } from '../../../shared/errors.ts';
import { type VaultSideDeps, vaultSide } from '../../../shared/replication/vault-side.ts';
import { planVault } from '../../../shared/store/vault.ts';
import {
  MemoryEventBus,
  MemoryLedger,
  MemoryObjectIndex,
  MemoryVaultStore,
} from '../../helpers/memory/index.ts';

function sideOf(vault: string) {
  const index = new MemoryObjectIndex();
  const deps = {
    deleter: {
      vaults: new MemoryVaultStore([
        planVault(
          { name: 'dst', width: 3, readThreshold: 2, writeThreshold: 2 },
          3,
          [],
          new Date(),
        ),
      ]),
      index,
      ledger: new MemoryLedger(),
      events: new MemoryEventBus(),
      clock: systemClock,
      tombstoneMs: 60_000,
    },
  } as unknown as VaultSideDeps;
  return { side: vaultSide(deps, vault), index };
}

test("a delete of a key already gone is done, as S3's: a redelivered delete task does not fail", async () => {
  // Prepare: the key never held anything (or an earlier delivery of the task deleted it).
  const { side } = sideOf('dst');

  // Act, Assess: twice, as a redelivery does.
  await side.remove('gone/a.bin');
  await side.remove('gone/a.bin');
});

test('a delete in a vault that does not exist still fails, naming it', async () => {
  const { side } = sideOf('nowhere');
  await assert.rejects(side.remove('a.bin'), VaultNotFoundError);
});
