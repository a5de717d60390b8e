/** The VaultStore contract: vault names are taken once, and read back as created. */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { VaultExistsError, VaultNotFoundError } from '../../shared/errors.ts';
import type { Vault, VaultStore } from '../../shared/store/index.ts';
import { type PortFactory, portTest } from './contract.ts';

export function vaultOf(name: string, units = [0, 1, 2, 3, 4, 5]): Vault {
  return {
    name,
    width: units.length,
    readThreshold: 4,
    writeThreshold: 5,
    segmentSize: 8 * 1024 * 1024,
    units,
    address: `vault/${name}`,
    createdAt: '2026-12-01T00:00:00.000Z',
  };
}

/** Registers the contract's tests; `factory` builds an empty store. */
export function vaultStoreContract(name: string, factory: PortFactory<VaultStore>): void {
  const it = portTest(factory);

  describe(`VaultStore contract: ${name}`, () => {
    it('a created vault is read back as it was created, units in pillar order', async (vaults) => {
      // Prepare
      const photos = vaultOf('photos', [7, 0, 3, 1, 2, 5]);

      // Act
      await vaults.create(photos);

      // Assess
      assert.deepEqual(await vaults.get('photos'), photos);
    });

    it('a name is taken once: a second create throws VaultExistsError and keeps the first', async (vaults) => {
      // Prepare
      await vaults.create(vaultOf('photos'));

      // Act / Assess
      await assert.rejects(
        vaults.create({ ...vaultOf('photos'), width: 3, units: [0, 1, 2] }),
        (err: unknown) => err instanceof VaultExistsError && err.vault === 'photos',
      );
      assert.equal((await vaults.get('photos')).width, 6);
    });

    it('of concurrent creates of one name exactly one succeeds', async (vaults) => {
      const results = await Promise.allSettled(
        [1, 2, 3].map((i) => vaults.create({ ...vaultOf('race'), segmentSize: i * 4096 })),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) {
        if (r.status === 'rejected') assert.ok(r.reason instanceof VaultExistsError);
      }
    });

    it('get of an unknown name throws VaultNotFoundError', async (vaults) => {
      await assert.rejects(
        vaults.get('nowhere'),
        (err: unknown) => err instanceof VaultNotFoundError && err.vault === 'nowhere',
      );
    });

    it('list returns every vault, by name; none at first', async (vaults) => {
      // Prepare
      const empty = await vaults.list();
      for (const n of ['music', 'archive', 'photos']) await vaults.create(vaultOf(n));

      // Act
      const all = await vaults.list();

      // Assess
      assert.deepEqual(empty, []);
      assert.deepEqual(all, [vaultOf('archive'), vaultOf('music'), vaultOf('photos')]);
    });
  });
}
