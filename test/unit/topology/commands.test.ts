import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  InvalidParameterError,
  TopologyConflictError,
  VaultFrozenError,
  VaultNotFoundError,
} from '../../../shared/errors.ts';
import type { Vault } from '../../../shared/store/index.ts';
import {
  acquireRole,
  assertWritable,
  type CommandDeps,
  FREEZE_CACHE_MS,
  FREEZE_SETTLE_MS,
  FreezeGate,
  getCommand,
  listCommands,
  runCommand,
  type TopologyChanges,
} from '../../../shared/topology/index.ts';
import { ManualClock } from '../../helpers/clock.ts';
import {
  MemoryAuditLog,
  MemoryFenceScope,
  MemoryFreezeStore,
  MemoryRoleLeases,
  MemoryVaultStore,
} from '../../helpers/memory/index.ts';

const VAULT: Vault = {
  name: 'photos',
  width: 6,
  readThreshold: 4,
  writeThreshold: 5,
  segmentSize: 65536,
  units: [0, 1, 2, 3, 4, 5],
  address: 'vault/photos',
  createdAt: '2026-12-01T00:00:00.000Z',
};

/** Topology changes that refuse every proposal: another one on the same parent is open. */
const refusing: TopologyChanges = {
  propose: async (vault) => {
    throw new TopologyConflictError(vault, 'f00d');
  },
};

function world(topology: TopologyChanges = refusing) {
  const deps = {
    audit: new MemoryAuditLog(),
    freezes: new MemoryFreezeStore(),
    leases: new MemoryRoleLeases(),
    vaults: new MemoryVaultStore([VAULT]),
    topology,
    clock: new ManualClock(),
    freezeSettleMs: 0,
  } satisfies CommandDeps;
  return deps;
}

test('vault.freeze marks the vault and each of its units, and the audit record lists each', async () => {
  // Prepare
  const deps = world();
  // Act
  const record = await runCommand(deps, 'AKADMIN', {
    command: 'vault.freeze',
    args: { vault: 'photos', reason: 'audit' },
  });
  // Assess
  assert.equal(record.state, 'succeeded');
  assert.equal(record.by, 'AKADMIN');
  assert.deepEqual(
    record.operations.map((o) => [o.unit, o.action, o.outcome]),
    [[null, 'refuse-writes', 'done'], ...VAULT.units.map((u) => [u, 'freeze', 'done'])],
  );
  assert.deepEqual(await deps.audit.get(record.id), record);
  await assert.rejects(assertWritable(deps.freezes, 'photos'), (err: unknown) => {
    assert.ok(err instanceof VaultFrozenError);
    assert.match(err.message, new RegExp(`frozen \\(command ${record.id} by AKADMIN`));
    return true;
  });
  assert.deepEqual(await deps.freezes.frozenUnits('photos'), VAULT.units);
});

test('vault.unfreeze removes every mark, and the vault takes writes again', async () => {
  // Prepare
  const deps = world();
  await runCommand(deps, 'AK', { command: 'vault.freeze', args: { vault: 'photos' } });
  // Act
  const record = await runCommand(deps, 'AK', {
    command: 'vault.unfreeze',
    args: { vault: 'photos' },
  });
  // Assess
  assert.equal(record.state, 'succeeded');
  assert.deepEqual(
    record.operations.map((o) => [o.unit, o.outcome]),
    [...VAULT.units.map((u) => [u, 'done']), [null, 'done']],
  );
  await assertWritable(deps.freezes, 'photos');
  assert.deepEqual(await deps.freezes.frozenUnits('photos'), []);
});

test('freezing twice changes nothing the second time, and says so per unit', async () => {
  // Prepare
  const deps = world();
  await runCommand(deps, 'AK', { command: 'vault.freeze', args: { vault: 'photos' } });
  // Act
  const again = await runCommand(deps, 'AK', {
    command: 'vault.freeze',
    args: { vault: 'photos' },
  });
  // Assess
  assert.equal(again.state, 'succeeded');
  assert.ok(again.operations.every((o) => o.outcome === 'unchanged'));
});

test("a unit's failed operation is recorded with why, and the command ends failed", async () => {
  // Prepare
  const deps = world();
  deps.freezes.failing.add(3);
  // Act
  const record = await runCommand(deps, 'AK', {
    command: 'vault.freeze',
    args: { vault: 'photos' },
  });
  // Assess
  assert.equal(record.state, 'failed');
  const three = record.operations.find((o) => o.unit === 3);
  assert.equal(three?.outcome, 'failed');
  assert.match(three?.detail ?? '', /unit 3 is down/);
});

test('role.release frees a held role, and the audit record names the token and holder', async () => {
  // Prepare
  const deps = world();
  await acquireRole(
    { leases: deps.leases, fences: new MemoryFenceScope(), clock: deps.clock, holder: 'janitor-1' },
    'janitor',
  );
  // Act
  const record = await runCommand(deps, 'AK', {
    command: 'role.release',
    args: { role: 'janitor' },
  });
  // Assess
  assert.deepEqual(record.result, { role: 'janitor', released: true, token: 1 });
  assert.deepEqual(record.operations, [
    { unit: null, action: 'release', outcome: 'done', detail: 'token 1 held by janitor-1' },
  ]);
  assert.equal((await deps.leases.get('janitor'))?.holder, undefined);
});

test('unit.replace goes to the topology changes; a refused proposal is a recorded failure', async () => {
  // Prepare
  const deps = world();
  // Act, Assess
  await assert.rejects(
    runCommand(deps, 'AK', {
      command: 'unit.replace',
      args: { vault: 'photos', unit: 3, with: 7 },
    }),
    TopologyConflictError,
  );
  const [record] = (await listCommands(deps, {})).commands;
  assert.equal(record?.command, 'unit.replace');
  assert.equal(record?.state, 'failed');
  assert.equal(record?.error?.code, 'TopologyConflict');
});

test("topology commands record the proposal's per-unit operations", async () => {
  // Prepare
  const proposals: unknown[] = [];
  const deps = world({
    propose: async (vault, change, principal) => {
      proposals.push({ vault, change, principal });
      return {
        proposal: 'a'.repeat(64),
        operations: VAULT.units.map((unit) => ({ unit, action: 'vote', outcome: 'done' as const })),
      };
    },
  });
  // Act
  const record = await runCommand(deps, 'AK', {
    command: 'vault.restripe',
    args: { vault: 'photos', width: 9, readThreshold: 6, writeThreshold: 7 },
  });
  // Assess
  assert.deepEqual(proposals, [
    {
      vault: 'photos',
      change: { kind: 'restripe', width: 9, readThreshold: 6, writeThreshold: 7 },
      principal: 'AK',
    },
  ]);
  assert.equal(record.operations.length, 6);
  assert.deepEqual(record.result, { proposal: 'a'.repeat(64) });
});

test('bad commands are 400s naming the field and the rule, and leave no record', async () => {
  // Prepare
  const deps = world();
  const cases: Array<[unknown, string, RegExp]> = [
    [{ command: 'vault.explode', args: {} }, 'command', /must be one of unit\.replace/],
    [{ command: 'vault.freeze' }, 'args.vault', /lowercase/],
    [
      { command: 'vault.freeze', args: { vault: 'photos', colour: 1 } },
      'args.colour',
      /known: vault, reason/,
    ],
    [
      { command: 'unit.replace', args: { vault: 'photos', unit: -1, with: 7 } },
      'args.unit',
      /unit number/,
    ],
    [
      {
        command: 'vault.restripe',
        args: { vault: 'photos', width: 4, readThreshold: 5, writeThreshold: 5 },
      },
      'args.writeThreshold',
      /readThreshold <= writeThreshold <= width/,
    ],
    [
      {
        command: 'vault.restripe',
        args: { vault: 'photos', width: 6, readThreshold: 4, writeThreshold: 5, segmentSize: 1 },
      },
      'args.segmentSize',
      /65536/,
    ],
    [{ command: 'role.release', args: { role: 'mayor' } }, 'args.role', /must be one of janitor/],
    [{ command: 'vault.freeze', args: {}, extra: true }, 'extra', /known: command, args/],
    ['freeze', 'body', /JSON object/],
  ];
  for (const [body, field, rule] of cases) {
    // Act, Assess
    await assert.rejects(runCommand(deps, 'AK', body), (err: unknown) => {
      assert.ok(err instanceof InvalidParameterError, `${JSON.stringify(body)}: ${String(err)}`);
      assert.equal(err.field, field, JSON.stringify(body));
      assert.match(err.rule, rule, JSON.stringify(body));
      return true;
    });
  }
  assert.equal(deps.audit.items.size, 0);
});

test('a command on a vault that does not exist is recorded as failed with its 404', async () => {
  // Prepare
  const deps = world();
  // Act, Assess
  await assert.rejects(
    runCommand(deps, 'AK', { command: 'vault.freeze', args: { vault: 'nowhere' } }),
    VaultNotFoundError,
  );
  const [record] = (await listCommands(deps, {})).commands;
  assert.equal(record?.error?.code, 'VaultNotFound');
});

test('the log lists newest first, a page at a time, and finds a command by id', async () => {
  // Prepare
  const deps = world();
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push(
      (await runCommand(deps, 'AK', { command: 'vault.freeze', args: { vault: 'photos' } })).id,
    );
    deps.clock.advance(1);
  }
  // Act
  const first = await listCommands(deps, { limit: '2' });
  const second = await listCommands(deps, { limit: '2', cursor: first.cursor });
  // Assess
  assert.deepEqual(
    [...first.commands, ...second.commands].map((c) => c.id),
    [...ids].reverse(),
  );
  assert.equal(second.cursor, undefined);
  assert.equal((await getCommand(deps, ids[0] ?? '')).id, ids[0]);
  await assert.rejects(getCommand(deps, 'nope'), /no admin command "nope"/);
  await assert.rejects(listCommands(deps, { limit: '0' }), /limit/);
});

test('writers trust a not-frozen answer for FREEZE_CACHE_MS, and a frozen one not at all', async () => {
  // Prepare
  const deps = world();
  const gate = new FreezeGate(deps.freezes, deps.clock);
  await gate.assertWritable('photos');
  await runCommand(deps, 'AK', { command: 'vault.freeze', args: { vault: 'photos' } });
  // Act, Assess: within the cache the vault still looks open; past it, frozen.
  await gate.assertWritable('photos');
  deps.clock.advance(FREEZE_CACHE_MS);
  await assert.rejects(gate.assertWritable('photos'), VaultFrozenError);
  await runCommand(deps, 'AK', { command: 'vault.unfreeze', args: { vault: 'photos' } });
  await gate.assertWritable('photos');
});

test('vault.freeze answers only once writers have had time to drop what they cached', async () => {
  // Prepare
  const deps = { ...world(), freezeSettleMs: undefined };
  let answered = false;
  // Act: time moves on in small steps until the command answers.
  const freezing = runCommand(deps, 'AK', { command: 'vault.freeze', args: { vault: 'photos' } });
  void freezing.then(() => {
    answered = true;
  });
  let advanced = 0;
  while (!answered && advanced < 10 * FREEZE_SETTLE_MS) {
    await new Promise((resolve) => setImmediate(resolve));
    if (answered) break;
    deps.clock.advance(100);
    advanced += 100;
  }
  // Assess
  assert.equal((await freezing).state, 'succeeded');
  assert.ok(advanced >= FREEZE_SETTLE_MS, `answered after ${advanced} ms`);
  assert.ok(FREEZE_SETTLE_MS > FREEZE_CACHE_MS);
});

test('a burst of writes to one vault costs one read of its freeze mark', async () => {
  // Prepare
  const deps = world();
  let reads = 0;
  class CountingFreezes extends MemoryFreezeStore {
    override async get(vault: string) {
      reads++;
      return super.get(vault);
    }
  }
  const gate = new FreezeGate(new CountingFreezes(), deps.clock);
  // Act
  await Promise.all(Array.from({ length: 50 }, () => gate.assertWritable('photos')));
  await gate.assertWritable('photos');
  // Assess
  assert.equal(reads, 1);
});
