/**
 * The control path and leased roles on the local cloud, with the real handlers: admin commands
 * through `POST /admin/commands` and their audit log; a frozen vault refusing writes; the roles
 * at `GET /admin/roles`; a role holder killed and its role taken over after expiry by the
 * janitor's function; a stale holder's late writes refused by its token.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { DynamoLedger } from '../../shared/aws/store/ledger.ts';
import { AsyncFenceScope, fencedDocuments } from '../../shared/aws/topology/fence.ts';
import { DynamoRoleLeases } from '../../shared/aws/topology/role-leases.ts';
import { systemClock } from '../../shared/clock.ts';
import { RoleLostError } from '../../shared/errors.ts';
import { newRevisionId, objectIdOf } from '../../shared/store/revision.ts';
import { acquireRole, type RoleDeps, type RoleLeases } from '../../shared/topology/index.ts';
import { runDsn } from '../helpers/dsn-cli.ts';
import {
  createVault,
  eventually,
  LOCAL_CREDENTIALS,
  PROJECT_ROOT,
  startTestCloud,
  TEST_ROOT,
  tempDir,
} from '../helpers/local-cloud.ts';

interface Operation {
  unit: number | null;
  action: string;
  outcome: string;
  detail?: string;
}
interface CommandRecord {
  id: string;
  command: string;
  args: Record<string, unknown>;
  by: string;
  at: string;
  state: string;
  operations: Operation[];
  error?: { code: string; message: string };
}
interface Role {
  role: string;
  holder: string | null;
  token: number;
  expiresAt: string | null;
  held: boolean;
}

describe('the control path and leased roles', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let dynamodb: DynamoDBClient;
  let documents: DynamoDBDocumentClient;
  const children = new Set<ChildProcess>();
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const command = (body: unknown) =>
    api('/admin/commands', { method: 'POST', body: JSON.stringify(body) });
  const roles = async () => {
    const res = await api('/admin/roles');
    assert.equal(res.status, 200);
    return ((await res.json()) as { roles: Role[] }).roles;
  };
  const role = async (name: string) => (await roles()).find((r) => r.role === name) as Role;
  const leasesOn = () => new DynamoRoleLeases(documents, cloud.ref('AdminTable'));
  const holder = (name: string, leases: RoleLeases = leasesOn()): RoleDeps => ({
    leases,
    fences: new AsyncFenceScope(),
    clock: systemClock,
    holder: name,
    leaseMs: 1000,
  });

  before(async () => {
    dir = await tempDir('dsn-admin');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'repair');
    // The roles' tests decide who holds a role when: the functions they race are invoked here,
    // never by their minute schedules (edge planner, topology applier, worker sweep), whose
    // run in the middle of a test would take a role or bump its token.
    cloud.schedules.stop();
    dynamodb = new DynamoDBClient({
      endpoint: cloud.endpoints.dynamodb,
      region: cloud.service.region,
      credentials: LOCAL_CREDENTIALS,
    });
    documents = DynamoDBDocumentClient.from(dynamodb, {
      marshallOptions: { removeUndefinedValues: true },
    });
    await createVault(api, { name: 'frozen', writeThreshold: 5, segmentSize: 65536 });
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    documents?.destroy();
    dynamodb?.destroy();
    await cloud?.stop();
    await dir?.remove();
  });

  test('vault.freeze refuses writes with a 423 naming the freeze, reads go on, and vault.unfreeze restores writes', async () => {
    // Prepare
    const body = randomBytes(1000);
    const put = (key: string) =>
      api(`/vaults/frozen/objects/${key}`, { method: 'PUT', body: new Uint8Array(body) });
    /** Accepted: 201, or 202 when its commit outlasts the API's wait (a busy machine). */
    const accepted = (status: number) => status === 201 || status === 202;
    const visible = (key: string) =>
      eventually(
        async () => {
          const res = await api(`/vaults/frozen/objects/${key}`);
          return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : undefined;
        },
        `${key} visible`,
        60_000,
      );
    assert.ok(accepted((await put('before.bin')).status));
    await visible('before.bin');

    // Act
    const frozen = await command({
      command: 'vault.freeze',
      args: { vault: 'frozen', reason: 'audit' },
    });
    const refused = await put('during.bin');
    const deleted = await api('/vaults/frozen/objects/before.bin', { method: 'DELETE' });
    const read = await api('/vaults/frozen/objects/before.bin');
    const thawed = await command({ command: 'vault.unfreeze', args: { vault: 'frozen' } });
    const after = await put('after.bin');

    // Assess
    assert.equal(frozen.status, 201, await frozen.clone().text());
    const record = (await frozen.json()) as CommandRecord;
    assert.equal(refused.status, 423);
    const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'VaultFrozen');
    assert.match(error.message, new RegExp(`vault "frozen" is frozen \\(command ${record.id}`));
    assert.equal(deleted.status, 423);
    assert.equal(read.status, 200);
    assert.deepEqual(Buffer.from(await read.arrayBuffer()), body);
    assert.equal(thawed.status, 201, await thawed.clone().text());
    assert.ok(accepted(after.status), await after.clone().text());
    assert.deepEqual(await visible('after.bin'), body);
  });

  test('every admin command leaves an audit record with its per-unit operations', async () => {
    // Prepare, Act
    const frozen = (await (
      await command({ command: 'vault.freeze', args: { vault: 'frozen' } })
    ).json()) as CommandRecord;
    const thawed = (await (
      await command({ command: 'vault.unfreeze', args: { vault: 'frozen' } })
    ).json()) as CommandRecord;
    const released = (await (
      await command({ command: 'role.release', args: { role: 'edge-planner' } })
    ).json()) as CommandRecord;
    const replaced = await command({
      command: 'unit.replace',
      args: { vault: 'frozen', unit: 3, with: 7 },
    });
    const drained = await command({ command: 'unit.drain', args: { vault: 'frozen', unit: 2 } });
    const restriped = await command({
      command: 'vault.restripe',
      args: { vault: 'frozen', width: 6, readThreshold: 3, writeThreshold: 4 },
    });

    // Assess: each is on the log, with who, what, when, and each unit's operation. The
    // replacement is proposed to the vault's six units (it is the topology route underneath).
    // The two after it either find that proposal (or its job) still open on the same parent
    // and are recorded refused, or, once it is done, are proposed in turn.
    assert.equal(replaced.status, 201, await replaced.clone().text());
    const proposal = (await replaced.json()) as CommandRecord;
    assert.equal(proposal.state, 'succeeded');
    assert.deepEqual(
      proposal.operations.map((o) => [o.unit, o.outcome]),
      [0, 1, 2, 3, 4, 5].map((u) => [u, 'done']),
    );
    assert.ok(proposal.operations.every((o) => /^vote on replace proposal /.test(o.action)));
    const log = (await (await api('/admin/commands?limit=100')).json()) as {
      commands: CommandRecord[];
    };
    const byCommand = new Map(log.commands.map((c) => [c.command, c]));
    assert.equal(byCommand.get('unit.replace')?.id, proposal.id);
    for (const [name, res] of [
      ['unit.drain', drained],
      ['vault.restripe', restriped],
    ] as const) {
      const recorded = byCommand.get(name);
      if (res.status === 201) {
        assert.equal(recorded?.state, 'succeeded', name);
        assert.equal(recorded?.operations.length, 6, name);
      } else {
        assert.equal(res.status, 409, name);
        assert.equal(recorded?.state, 'failed', name);
        assert.equal(recorded?.error?.code, 'TopologyConflict', name);
      }
    }
    const one = (await (await api(`/admin/commands/${frozen.id}`)).json()) as CommandRecord;
    assert.deepEqual(one, frozen);
    assert.equal(one.by, TEST_ROOT.accessKeyId);
    assert.ok(Date.parse(one.at) > 0);
    assert.deepEqual(
      one.operations.map((o) => [o.unit, o.outcome]),
      [
        [null, 'done'],
        [0, 'done'],
        [1, 'done'],
        [2, 'done'],
        [3, 'done'],
        [4, 'done'],
        [5, 'done'],
      ],
    );
    assert.deepEqual(
      thawed.operations.map((o) => [o.unit, o.action]),
      [
        [0, 'unfreeze'],
        [1, 'unfreeze'],
        [2, 'unfreeze'],
        [3, 'unfreeze'],
        [4, 'unfreeze'],
        [5, 'unfreeze'],
        [null, 'accept-writes'],
      ],
    );
    assert.deepEqual(released.operations, [
      {
        unit: null,
        action: 'release',
        outcome: 'unchanged',
        detail: 'the role was not held',
      },
    ]);
    assert.equal((await api('/admin/commands/nope')).status, 404);
  });

  test('a bad command is a 400 naming the field and the rule, and is not recorded', async () => {
    // Prepare
    const before = (await (await api('/admin/commands')).json()) as { commands: CommandRecord[] };
    // Act
    const cases = await Promise.all(
      [
        { command: 'vault.melt', args: {} },
        { command: 'vault.freeze', args: {} },
        { command: 'unit.replace', args: { vault: 'frozen', unit: 3, with: 'seven' } },
        {
          command: 'vault.restripe',
          args: { vault: 'frozen', width: 3, readThreshold: 4, writeThreshold: 4 },
        },
      ].map(async (body) => {
        const res = await command(body);
        return {
          status: res.status,
          message: ((await res.json()) as { error: { message: string } }).error.message,
        };
      }),
    );
    // Assess
    assert.deepEqual(
      cases.map((c) => c.status),
      [400, 400, 400, 400],
    );
    assert.match(cases[0]?.message ?? '', /^command: must be one of unit\.replace/);
    assert.match(cases[1]?.message ?? '', /^args\.vault: /);
    assert.match(cases[2]?.message ?? '', /^args\.with: must be a unit number/);
    assert.match(cases[3]?.message ?? '', /^args\.writeThreshold: must satisfy/);
    const later = (await (await api('/admin/commands')).json()) as { commands: CommandRecord[] };
    assert.equal(later.commands[0]?.id, before.commands[0]?.id);
  });

  test("a lease holder killed: the janitor's role is taken over after its lease ends, with the next token", async () => {
    // Prepare: a process takes the janitor's role (3 s leases, renewed) and is then killed.
    const child = spawn(
      process.execPath,
      [
        join(PROJECT_ROOT, 'test/helpers/role-holder.ts'),
        cloud.endpoints.dynamodb,
        cloud.service.region,
        cloud.ref('AdminTable'),
        'janitor',
        '3000',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.add(child);
    const [line] = (await once(
      createInterface({ input: child.stdout as NodeJS.ReadableStream }),
      'line',
    )) as [string];
    const lease = JSON.parse(line) as { token: number; holder: string };
    const skipped = (await cloud.invoker.invoke('janitor', {})) as { skipped?: string };
    const shown = await role('janitor');

    // Act
    child.kill('SIGKILL');
    await once(child, 'exit');
    children.delete(child);
    const lastExpiry = Date.parse((await role('janitor')).expiresAt ?? '');
    const ran = await eventually(async () => {
      const report = (await cloud.invoker.invoke('janitor', {})) as {
        skipped?: string;
        purged?: number;
      };
      return report.skipped === undefined ? { report, at: Date.now() } : undefined;
    }, 'the janitor taking the role over');

    // Assess
    assert.match(skipped.skipped ?? '', /held elsewhere/, 'the live holder kept the role');
    assert.deepEqual([shown.holder, shown.token, shown.held], [lease.holder, lease.token, true]);
    assert.ok(ran.at >= lastExpiry, 'not taken over before the lease ended');
    assert.equal(typeof ran.report.purged, 'number');
    const now = await role('janitor');
    assert.equal(now.token, lease.token + 1);
    assert.equal(now.held, false, 'the janitor released the role when its pass ended');
  });

  test("a stale holder's late write is refused by its token, and changes nothing", async () => {
    // Prepare: a pending revision the janitor may fail; holder a takes the role and pauses.
    const ledger = (db: DynamoDBDocumentClient) =>
      new DynamoLedger(db, cloud.ref('RevisionsTable'));
    const revision = newRevisionId();
    await ledger(documents).createPending(
      {
        revision,
        vault: 'frozen',
        key: 'late.bin',
        objectId: objectIdOf('frozen', 'late.bin'),
        state: 'pending',
        segmentSize: 65536,
        readThreshold: 4,
        writeThreshold: 5,
        units: [0, 1, 2, 3, 4, 5],
        doneSegments: 0,
        failedUnits: [],
        createdAt: new Date().toISOString(),
        tasksDone: false,
      },
      Date.now() + 3_600_000,
    );
    const aDeps = holder('stale-a');
    const a = await acquireRole(aDeps, 'rebuild-scheduler');
    assert.ok(a);
    const b = await eventually(
      () => acquireRole(holder('fresh-b'), 'rebuild-scheduler'),
      "a's lease ending",
    );

    // Act: a wakes up and writes as the janitor would.
    const aScope = new AsyncFenceScope();
    const aDocuments = fencedDocuments(documents, aScope, aDeps.leases);
    const late = aScope.run({ role: 'rebuild-scheduler', token: a.token }, () =>
      ledger(aDocuments).fail(revision, 'failed by a stale holder', Date.now()),
    );

    // Assess
    assert.equal(b.token, a.token + 1);
    await assert.rejects(late, (err: unknown) => {
      assert.ok(err instanceof RoleLostError);
      assert.match(
        err.message,
        new RegExp(`token ${a.token} is no longer the holder's \\(token ${b.token} holds it now`),
      );
      return true;
    });
    assert.equal((await ledger(documents).get(revision))?.state, 'pending');
  });

  test('an item written under a later token refuses an earlier token even when its lease check was passed', async () => {
    // Prepare: b holds the role now and writes an item; a's view of the lease is from before
    // the takeover (the window between its check and its write).
    const table = cloud.ref('AdminTable');
    const a = await acquireRole(holder('slow-a'), 'edge-planner');
    assert.ok(a);
    const b = await eventually(
      () => acquireRole(holder('fresh-b'), 'edge-planner'),
      "a's lease ending",
    );
    const bScope = new AsyncFenceScope();
    const leases = leasesOn();
    await bScope.run({ role: 'edge-planner', token: b.token }, () =>
      fencedDocuments(documents, bScope, leases).send(
        new PutCommand({ TableName: table, Item: { pk: 'plan', sk: 'hot', by: 'b' } }),
      ),
    );
    const staleView: RoleLeases = {
      ...leases,
      get: async (name) => ({ role: name, holder: 'slow-a', token: a.token, expiresAt: 0 }),
      acquire: leases.acquire.bind(leases),
      renew: leases.renew.bind(leases),
      release: leases.release.bind(leases),
      list: leases.list.bind(leases),
    };
    const aScope = new AsyncFenceScope();

    // Act
    const late = aScope.run({ role: 'edge-planner', token: a.token }, () =>
      fencedDocuments(documents, aScope, staleView).send(
        new PutCommand({ TableName: table, Item: { pk: 'plan', sk: 'hot', by: 'a' } }),
      ),
    );

    // Assess
    await assert.rejects(late, new RegExp(`token ${b.token} wrote this item since`));
    const item = await documents.send(
      new GetCommand({ TableName: table, Key: { pk: 'plan', sk: 'hot' } }),
    );
    assert.equal(item.Item?.by, 'b');
    assert.equal(item.Item?.['fence_edge-planner'], b.token);
  });

  test('GET /admin/roles shows every role with its holder, token and expiry', async () => {
    // Prepare
    const held = await acquireRole({ ...holder('shown'), leaseMs: 60_000 }, 'topology-applier');
    assert.ok(held);
    // Act
    const all = await roles();
    const released = (await (
      await command({ command: 'role.release', args: { role: 'topology-applier' } })
    ).json()) as CommandRecord;
    // Assess
    assert.deepEqual(
      all.map((r) => r.role),
      [
        'janitor',
        'rebuild-scheduler',
        'replication-rebalancer',
        'topology-applier',
        'edge-planner',
      ],
    );
    const applier = all.find((r) => r.role === 'topology-applier');
    assert.deepEqual([applier?.holder, applier?.token, applier?.held], ['shown', held.token, true]);
    assert.equal(applier?.expiresAt, new Date(held.expiresAt).toISOString());
    assert.equal(released.operations[0]?.outcome, 'done');
    assert.equal((await role('topology-applier')).held, false);
    await assert.rejects(held.renew(), RoleLostError);
  });

  test('dsn admin freezes, unfreezes, lists the log and the roles through the control path', async () => {
    // Prepare
    const dsn = (...args: string[]) => runDsn(['--endpoint', cloud.endpoints.api, ...args]);
    // Act
    const frozen = await dsn('admin', 'freeze', 'frozen', '--reason', 'cli', '--json');
    const put = await api('/vaults/frozen/objects/cli.bin', { method: 'PUT', body: 'x' });
    const thawed = await dsn('admin', 'command', 'vault.unfreeze', '--arg', 'vault=frozen');
    const log = await dsn('admin', 'commands', '--json');
    const one = await dsn('admin', 'commands', (JSON.parse(frozen.stdout) as CommandRecord).id);
    const listed = await dsn('admin', 'roles');
    const bad = await dsn(
      'admin',
      'command',
      'unit.drain',
      '--arg',
      'vault=frozen',
      '--arg',
      'unit=x',
    );
    // Assess
    assert.equal(frozen.code, 0, frozen.stderr);
    const record = JSON.parse(frozen.stdout) as CommandRecord;
    assert.deepEqual(record.args, { vault: 'frozen', reason: 'cli' });
    assert.equal(put.status, 423);
    assert.equal(thawed.code, 0, thawed.stderr);
    assert.match(thawed.stdout, /vault\.unfreeze \{"vault":"frozen"\}: succeeded/);
    assert.match(thawed.stdout, /unit 5: unfreeze done/);
    const commands = (JSON.parse(log.stdout) as { commands: CommandRecord[] }).commands;
    assert.deepEqual(
      commands.slice(0, 2).map((c) => c.command),
      ['vault.unfreeze', 'vault.freeze'],
    );
    assert.match(one.stdout, /unit 0: freeze done/);
    assert.match(listed.stdout, /janitor\s+free/);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /args\.unit: must be a unit number/);
  });

  test("the rebuild scheduler starts the vaults' rebuilds as its role's holder, and not while another holds it", async () => {
    // Prepare: another holder has the role.
    const other = await acquireRole({ ...holder('other'), leaseMs: 60_000 }, 'rebuild-scheduler');
    assert.ok(other);
    const rebuildOf = async () => (await api('/vaults/frozen/rebuild')).status;
    const before = await rebuildOf();

    // Act
    await cloud.invoker.invoke('rebuilder', { source: 'aws.events' });
    const whileHeld = await rebuildOf();
    await command({ command: 'role.release', args: { role: 'rebuild-scheduler' } });
    await cloud.invoker.invoke('rebuilder', { source: 'aws.events' });

    // Assess
    assert.equal(before, 404);
    assert.equal(whileHeld, 404, 'no rebuild started while the role was held elsewhere');
    assert.equal(await rebuildOf(), 200);
    const after = await role('rebuild-scheduler');
    assert.deepEqual([after.token, after.held], [other.token + 1, false]);
  });
});
