/**
 * The topology system's wiring: what the API needs to propose changes and show topologies, what
 * a unit's function needs to vote (and start the job of a change it applies), and the job
 * runner; leased roles (and the fenced runtime their holders write through); and the control
 * path's commands with their audit log, whose topology commands propose through the same code.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig, POOL_SECTION } from '../../config.ts';
import { killNow } from '../../crash.ts';
import { Throttle } from '../../repair/index.ts';
import {
  type CommandDeps,
  type MoverDeps,
  notFrozenCache,
  type PoolView,
  proposeChange,
  type RoleDeps,
  startTopologyJob,
  type TopologyChanges,
  type TopologyDeps,
  type VoterDeps,
} from '../../topology/index.ts';
import { SqsRepairLog } from '../repair/repair-log.ts';
import type { Runtime } from '../runtime.ts';
import { DynamoLedger } from '../store/ledger.ts';
import { SnsMulticast } from '../store/multicast.ts';
import { DynamoObjectIndex } from '../store/object-index.ts';
import { DynamoVaultStore } from '../store/vault-store.ts';
import { wireSlices, wireVaults } from '../store/wire.ts';
import { DynamoAuditLog } from './audit-log.ts';
import { SnsProposalBroadcast } from './broadcast.ts';
import { AsyncFenceScope, fencedDocuments } from './fence.ts';
import { DynamoFreezeStore } from './freezes.ts';
import { DynamoManifestStore, DynamoTopologyJobStore, SqsTopologyJobTrigger } from './jobs.ts';
import { DynamoRoleLeases } from './role-leases.ts';
import { DynamoTopologyStore } from './topology-store.ts';

function wireStore(rt: Runtime) {
  const config = loadConfig(rt.env, ['controlTable', 'vaultsTable']);
  return new DynamoTopologyStore(rt.clients.documents, config.controlTable, config.vaultsTable);
}

function wireJobs(rt: Runtime) {
  const config = loadConfig(rt.env, ['controlTable', 'topologyQueueUrl']);
  return {
    jobs: new DynamoTopologyJobStore(rt.clients.documents, config.controlTable),
    trigger: new SqsTopologyJobTrigger(rt.clients.sqs, config.topologyQueueUrl),
  };
}

/** Where each unit of the pool is: its bucket, region and the S3 endpoint this runtime uses. */
function poolView(rt: Runtime): {
  poolSize: number;
  pool: PoolView;
  edgeUnits: readonly number[];
} {
  const pool = loadConfig(rt.env, POOL_SECTION);
  const { edgeUnits } = loadConfig(rt.env, ['edgeUnits']);
  const endpoint = rt.env.AWS_ENDPOINT_URL_S3 ?? rt.env.AWS_ENDPOINT_URL ?? '';
  return {
    poolSize: pool.unitBuckets.length,
    edgeUnits,
    pool: (unit) => ({
      bucket: pool.unitBuckets[unit] ?? '',
      region: pool.unitRegions[unit] ?? '',
      endpoint,
    }),
  };
}

/** Proposing changes and showing topologies and jobs (the API, and later the command path). */
export function wireTopology(rt: Runtime) {
  const config = loadConfig(rt.env, ['vaultsTable', 'networkTopicArn']);
  return {
    // Uncached: a proposal's parent must be the vault's topology now.
    vaults: new DynamoVaultStore(rt.clients.documents, config.vaultsTable),
    topologies: wireStore(rt),
    broadcast: new SnsProposalBroadcast(rt.clients.sns, config.networkTopicArn),
    ...poolView(rt),
    clock: rt.clock,
    jobs: wireJobs(rt).jobs,
  } satisfies TopologyDeps;
}

/** A unit's vote: its index, the store it votes in, and the job a change it applies starts. */
export function wireVoter(rt: Runtime, unit: number): VoterDeps {
  const jobs = wireJobs(rt);
  return {
    unit,
    topologies: wireStore(rt),
    clock: rt.clock,
    log: rt.log,
    onCurrent: async (current, parent) =>
      (await startTopologyJob({ ...jobs, clock: rt.clock }, current, parent)).id,
  };
}

/** The job runner: what moving slices and re-encoding objects touch. */
export function wireMover(rt: Runtime): MoverDeps {
  const config = loadConfig(rt.env, [
    'objectsTable',
    'revisionsTable',
    'vaultsTable',
    'networkTopicArn',
    'statusTopicArn',
    'repairQueueUrl',
    'pendingTimeoutMs',
    'rebuildBytesPerSecond',
  ]);
  const { slices } = wireSlices(rt);
  const index = new DynamoObjectIndex(rt.clients.documents, config.objectsTable);
  const ledger = new DynamoLedger(rt.clients.documents, config.revisionsTable);
  return {
    index,
    slices,
    manifests: new DynamoManifestStore(
      rt.clients.documents,
      config.objectsTable,
      config.revisionsTable,
    ),
    ...wireJobs(rt),
    reader: {
      index,
      slices,
      repair: new SqsRepairLog(rt.clients.sqs, config.repairQueueUrl, rt.log),
      hedgeMs: 250,
      log: rt.log,
      clock: rt.clock,
    },
    writer: {
      // Uncached: a rewrite must go under the topology current now.
      vaults: new DynamoVaultStore(rt.clients.documents, config.vaultsTable),
      ledger,
      index,
      slices,
      multicast: new SnsMulticast(rt.clients.sns, config.networkTopicArn, config.statusTopicArn),
      clock: rt.clock,
      pendingTimeoutMs: config.pendingTimeoutMs,
    },
    // The rebuilder's budget: moving a unit's data leaves the units room for foreground traffic.
    throttle: new Throttle(config.rebuildBytesPerSecond),
    clock: rt.clock,
    log: rt.log,
    afterObject: crashAfter(rt.env.DSN_TOPOLOGY_CRASH_AT),
  };
}

/**
 * A fault-injection hook for tests, never for production: with `DSN_TOPOLOGY_CRASH_AT=<n>`, the
 * process running a topology job kills itself with SIGKILL once the job has moved n objects, as
 * a crash or a lost machine would (on the local cloud the whole cloud dies). Unset: nothing.
 */
function crashAfter(value: string | undefined): MoverDeps['afterObject'] {
  if (!value) return undefined;
  const at = Number(value);
  if (!Number.isInteger(at) || at < 1)
    throw new Error(`DSN_TOPOLOGY_CRASH_AT must be a positive integer, got "${value}"`);
  return async (done) => {
    if (done !== at) return;
    killNow(`dsn topology: crashing after ${done} objects (DSN_TOPOLOGY_CRASH_AT)`);
  };
}

/** The role leases alone (`GET /admin/roles`, `role.release`). */
export function wireRoleLeases(rt: Runtime) {
  const { adminTable } = loadConfig(rt.env, ['adminTable']);
  return { leases: new DynamoRoleLeases(rt.clients.documents, adminTable), clock: rt.clock };
}

/**
 * What a function that takes roles needs: the role deps (`holder` names this execution
 * environment), and `fenced`, a runtime like `rt` whose DynamoDB writes made while holding a
 * role carry its token. Wire the role's protected adapters from `fenced`.
 */
export function wireRoles(
  rt: Runtime,
  name: string,
  leaseMs?: number,
): { roles: RoleDeps; fenced: Runtime } {
  const { leases } = wireRoleLeases(rt);
  const fences = new AsyncFenceScope();
  const documents = fencedDocuments(rt.clients.documents, fences, leases);
  return {
    roles: {
      leases,
      fences,
      clock: rt.clock,
      holder: `${name}-${randomUUID().slice(0, 8)}`,
      ...(leaseMs === undefined ? {} : { leaseMs }),
    },
    fenced: { ...rt, clients: { ...rt.clients, documents } },
  };
}

/**
 * A storage unit's refusal of a frozen vault's slices: its freeze mark. A vault found not
 * frozen is trusted for `FREEZE_CACHE_MS` (a unit handles many messages a second; vault.freeze
 * waits that out before it answers); a frozen one is read again on every message, so an
 * unfreeze takes effect at once.
 */
export function wireUnitRefusal(rt: Runtime, unit: number) {
  const { adminTable } = loadConfig(rt.env, ['adminTable']);
  const freezes = new DynamoFreezeStore(rt.clients.documents, adminTable);
  const markOf = notFrozenCache(rt.clock, (vault) => freezes.unitFreeze(vault, unit));
  return async (vault: string): Promise<string | undefined> => {
    const mark = await markOf(vault);
    return mark
      ? `unit ${unit} refuses slices of vault "${vault}": frozen by command ${mark.command}`
      : undefined;
  };
}

/** The control path: the audit log, freezes, leases, vaults, and the topology proposals. */
export function wireCommands(rt: Runtime, topology: TopologyChanges): CommandDeps {
  const { adminTable } = loadConfig(rt.env, ['adminTable']);
  return {
    audit: new DynamoAuditLog(rt.clients.documents, adminTable),
    freezes: new DynamoFreezeStore(rt.clients.documents, adminTable),
    leases: new DynamoRoleLeases(rt.clients.documents, adminTable),
    vaults: wireVaults(rt),
    topology,
    clock: rt.clock,
  };
}

/**
 * The admin commands' topology changes: a proposal as `POST /vaults/{vault}/topology` makes it,
 * its per-unit operations (the proposal sent to each current unit) as the audit record's.
 */
export function topologyChanges(deps: TopologyDeps): TopologyChanges {
  return {
    propose: async (vault, change, principal) => {
      const { proposal, operations } = await proposeChange(deps, vault, change, principal);
      return {
        proposal: proposal.id,
        // The job starts once the proposal is current; its id is the proposal's.
        job: proposal.id,
        operations: operations.map((o) => ({
          unit: o.unit,
          action: o.operation,
          outcome: 'done' as const,
          detail: o.outcome,
        })),
      };
    },
  };
}
