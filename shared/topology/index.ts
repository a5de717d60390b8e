/**
 * Topology (seed 004): leased management roles with fencing tokens, and the one control path
 * (admin commands, their per-unit operations and their audit log). Content-addressed
 * topologies and their quorum come with the topology branch. Other systems import this file
 * only.
 */
export {
  type CommandRecord,
  type CommandState,
  commandId,
  type Operation,
} from './command-record.ts';
export {
  COMMAND_NAMES,
  COMMANDS,
  type CommandDeps,
  type CommandName,
  commandsQuerySchema,
  getCommand,
  listCommands,
  MAX_COMMANDS_PAGE,
  runCommand,
} from './commands.ts';
export {
  assertWritable,
  FREEZE_CACHE_MS,
  FREEZE_SETTLE_MS,
  type Freeze,
  FreezeGate,
  notFrozenCache,
} from './freeze.ts';
export {
  acquireRole,
  checkRole,
  DEFAULT_LEASE_MS,
  forceRelease,
  type HeldRole,
  type Lease,
  listRoles,
  type PublicLease,
  publicLease,
  ROLES,
  type RoleDeps,
  type RoleName,
  type RoleRun,
  withRole,
} from './lease.ts';
export type {
  AuditLog,
  Fence,
  FenceScope,
  FreezeStore,
  RoleLeases,
  TopologyChange,
  TopologyChanges,
} from './ports.ts';
