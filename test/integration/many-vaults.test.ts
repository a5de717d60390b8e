/**
 * Vaults beyond SNS's 150 filter values: each unit's subscription filters on its own address
 * only, so the 300th vault on a unit is created and written like the first. (When each vault
 * added its address to its units' filter policies, the 150th failed with a 500 and left a vault
 * no unit would hear.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { eventually, PROJECT_ROOT, startTestCloud, tempDir } from '../helpers/local-cloud.ts';

const VAULTS = 300;
/** Vaults created and written at once, as several clients would. */
const IN_FLIGHT = 6;

let dir: Awaited<ReturnType<typeof tempDir>>;
let cloud: LocalCloud;
const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);

before(async () => {
  dir = await tempDir('dsn-many-vaults');
  cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
});

after(async () => {
  await cloud?.stop();
  await dir?.remove();
});

test('300 vaults on an 8-unit pool each take a PUT and give it back, byte for byte', async () => {
  // Prepare: every vault is 5 wide on a pool of 8, so each unit serves over 150 of them
  // (k = 3, T = 5: every unit of a vault must hear its message).
  const failures: string[] = [];
  const one = async (i: number) => {
    const name = `many-${String(i).padStart(3, '0')}`;
    const created = await api('/vaults', {
      method: 'POST',
      body: JSON.stringify({ name, width: 5, readThreshold: 3, writeThreshold: 5 }),
    });
    if (created.status !== 201) {
      failures.push(`${name}: create ${created.status} ${await created.text()}`);
      return;
    }
    const body = randomBytes(512 + i);
    const put = await api(`/vaults/${name}/objects/item-${i}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(body),
    });
    // 202: accepted, and the commit finishes after the writer's wait (a cold start on a busy
    // machine); the revision is polled until it is committed.
    if (put.status === 202) {
      const { poll } = (await put.json()) as { poll: string };
      const state = await eventually(
        async () => {
          const r = (await (await api(poll)).json()) as { state: string };
          return r.state === 'pending' ? undefined : r.state;
        },
        `${name}'s revision to commit`,
        60_000,
      );
      if (state !== 'committed') failures.push(`${name}: put ended ${state}`);
    } else if (put.status !== 201) {
      failures.push(`${name}: put ${put.status} ${await put.text()}`);
      return;
    }
    const got = await api(`/vaults/${name}/objects/item-${i}`);
    const bytes = Buffer.from(await got.arrayBuffer());
    if (got.status !== 200 || !bytes.equals(body))
      failures.push(`${name}: get ${got.status}, ${bytes.length} bytes`);
  };

  // Act
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < VAULTS) await one(next++);
    }),
  );

  // Assess
  assert.deepEqual(failures, []);
  const listed = (await (await api('/vaults')).json()) as {
    vaults: Array<{ name: string; units: number[] }>;
  };
  const ours = listed.vaults.filter((v) => v.name.startsWith('many-'));
  assert.equal(ours.length, VAULTS);
  const perUnit = Array.from(
    { length: 8 },
    (_, u) => ours.filter((v) => v.units.includes(u)).length,
  );
  assert.ok(Math.min(...perUnit) > 150, `vaults per unit: ${perUnit.join(', ')}`);
});
