/**
 * Every failure a caller can act on, as a named class under one base. Each message names the
 * rule broken and the value seen. Which HTTP status each class is, is decided here too
 * (`HTTP_STATUS`, `statusOf`), so the HTTP layer maps errors in one place.
 */

/** Base of every domain error: `name` is the class name and context fields ride along. */
export class DsnError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /**
   * The error's code in an API answer (`{"error":{"code"}}`): the class name without `Error`.
   * A class whose clients already know it by another code overrides this getter, so renaming
   * a class never changes what the API says.
   */
  get code(): string {
    return this.name.replace(/Error$/, '');
  }
}

/** A request parameter breaks a rule; `field` names it, `rule` says what was wrong. */
export class InvalidParameterError extends DsnError {
  readonly field: string;
  readonly rule: string;
  constructor(field: string, rule: string, options?: { cause?: unknown }) {
    super(`${field}: ${rule}`, options);
    this.field = field;
    this.rule = rule;
  }
}

/** A vault with this name already exists. */
export class VaultExistsError extends DsnError {
  readonly vault: string;
  constructor(vault: string) {
    super(`vault "${vault}" already exists`);
    this.vault = vault;
  }
}

/** No vault with this name. */
export class VaultNotFoundError extends DsnError {
  readonly vault: string;
  constructor(vault: string) {
    super(`vault "${vault}" does not exist`);
    this.vault = vault;
  }
}

/** A storage unit's bucket has no object at the key. */
export class SliceNotFoundError extends DsnError {
  readonly unit: number;
  readonly key: string;
  constructor(unit: number, key: string, options?: { cause?: unknown }) {
    super(`unit ${unit} has no slice at ${key}`, options);
    this.unit = unit;
    this.key = key;
  }
}

/** Fewer than `k` shards (slices) of a segment are present: it cannot be rebuilt. */
export class TooFewShardsError extends DsnError {
  readonly present: number;
  readonly needed: number;
  constructor(present: number, needed: number, options?: { cause?: unknown }) {
    super(`only ${present} shards present, ${needed} needed to reconstruct`, options);
    this.present = present;
    this.needed = needed;
  }
}

/** A slice name string that does not parse; `rule` says which part is wrong. */
export class InvalidSliceNameError extends DsnError {
  readonly value: string;
  readonly rule: string;
  constructor(value: string, rule: string, options?: { cause?: unknown }) {
    super(`invalid slice name "${value.slice(0, 200)}": ${rule}`, options);
    this.value = value;
    this.rule = rule;
  }
}

/** Why a stored slice was refused. */
export type SliceDefect = 'truncated' | 'foreign' | 'version' | 'corrupt';

/** Slice bytes that must not be used: cut short, not ours, or failing their checksum. */
export class InvalidSliceError extends DsnError {
  readonly defect: SliceDefect;
  readonly sliceName?: string;
  constructor(
    defect: SliceDefect,
    detail: string,
    sliceName?: string,
    options?: { cause?: unknown },
  ) {
    super(`${defect} slice${sliceName ? ` ${sliceName}` : ''}: ${detail}`, options);
    this.defect = defect;
    this.sliceName = sliceName;
  }
}

/** No committed object at this key. */
export class ObjectNotFoundError extends DsnError {
  readonly vault: string;
  readonly key: string;
  constructor(vault: string, key: string) {
    super(`no object "${key}" in vault "${vault}"`);
    this.vault = vault;
    this.key = key;
  }
}

/** A write could not reach its write threshold: too many units failed. Nothing became visible. */
export class WriteThresholdNotMetError extends DsnError {
  readonly revision: string;
  readonly failedUnits: number[];
  constructor(revision: string, failedUnits: number[], reason: string) {
    super(
      `write ${revision} failed: ${reason}; units that failed: ${failedUnits.join(', ') || 'none reported'}`,
    );
    this.revision = revision;
    this.failedUnits = failedUnits;
  }
}

/** A body or response beyond what one call carries; `limit` in bytes. */
export class PayloadTooLargeError extends DsnError {
  readonly limit: number;
  constructor(message: string, limit: number) {
    super(message);
    this.limit = limit;
  }
}

/**
 * A conditional write's precondition (`If-Match`, `If-None-Match: *`) did not hold when the
 * revision was to become visible: the object changed meanwhile, or the key exists.
 */
export class PreconditionFailedError extends DsnError {
  readonly key: string;
  constructor(key: string, rule: string) {
    super(`"${key}": ${rule}`);
    this.key = key;
  }
}

/** A reader URL whose grant is missing, unknown, expired or for another object. */
export class ReadGrantRefusedError extends DsnError {}

/** A Range header that names no byte of the object. */
export class RangeNotSatisfiableError extends DsnError {
  readonly size: number;
  constructor(range: string, size: number) {
    super(`range "${range}" is outside the object's ${size} bytes`);
    this.size = size;
  }
}

/** A segment has fewer than k good slices left: the object cannot be read. */
export class SegmentLostError extends DsnError {
  readonly vault: string;
  readonly key: string;
  readonly segment: number;
  constructor(vault: string, key: string, segment: number, good: number, needed: number) {
    super(
      `object "${key}" in vault "${vault}": segment ${segment} has ${good} good slices, ${needed} needed`,
    );
    this.vault = vault;
    this.key = key;
    this.segment = segment;
  }
}

/** No staged upload with this id in this vault. */
export class UploadNotFoundError extends DsnError {
  readonly uploadId: string;
  constructor(uploadId: string) {
    super(`no upload "${uploadId}" in this vault`);
    this.uploadId = uploadId;
  }
}

/** The upload is not in a state that allows this call (parts after complete, say). */
export class UploadStateError extends DsnError {
  readonly uploadId: string;
  constructor(uploadId: string, message: string) {
    super(`upload ${uploadId}: ${message}`);
    this.uploadId = uploadId;
  }
}

/** A client's dispersal is past the state this call needs (slices for a committed revision, say). */
export class DispersalStateError extends DsnError {
  readonly revision: string;
  constructor(revision: string, message: string) {
    super(`dispersal ${revision}: ${message}`);
    this.revision = revision;
  }
}

/**
 * A write whose vault moved to another topology while it was written, more than the grace
 * before its commit: it was failed, and must be written again under the current topology
 * (shared/store/superseded-write.ts). A repeat of the same write succeeds.
 */
export class TopologySupersededError extends DsnError {
  readonly revision: string;
  constructor(revision: string, reason: string) {
    super(`write ${revision} failed: ${reason}`);
    this.revision = revision;
  }
}

/** No revision with this id in this vault (one of another vault is not shown either). */
export class RevisionNotFoundError extends DsnError {
  readonly vault: string;
  readonly revision: string;
  constructor(vault: string, revision: string) {
    super('no such revision in this vault');
    this.vault = vault;
    this.revision = revision;
  }
}

/** The vault exists but no rebuild job has ever been started on it. */
export class RebuildNotFoundError extends DsnError {
  readonly vault: string;
  constructor(vault: string) {
    super(`no rebuild has run on vault "${vault}"; start one with POST /vaults/${vault}/rebuild`);
    this.vault = vault;
  }
}

/** The API has no route for this method and path. */
export class RouteNotFoundError extends DsnError {
  readonly routeKey: string;
  constructor(routeKey: string) {
    super(`no route for ${routeKey}`);
    this.routeKey = routeKey;
  }

  /** Clients (the CLI among them) have always seen `NotFound` for an unknown route. */
  override get code(): string {
    return 'NotFound';
  }
}

/** A restart of a rebuild came too soon after the last start (a scrub must get to finish). */
export class RebuildRestartTooSoonError extends DsnError {
  readonly vault: string;
  /** Seconds until a restart is taken. */
  readonly retryAfterSeconds: number;
  constructor(vault: string, sinceMs: number, minIntervalMs: number) {
    const retryAfterSeconds = Math.max(1, Math.ceil((minIntervalMs - sinceMs) / 1000));
    super(
      `the rebuild of vault "${vault}" started ${Math.floor(sinceMs / 1000)} s ago; a restart is taken at most once per ${minIntervalMs / 1000} s, so retry in ${retryAfterSeconds} s (without "restart" it resumes)`,
    );
    this.vault = vault;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  override get code(): string {
    return 'RestartTooSoon';
  }
}

/** A caller has as many staged uploads open as it may. */
export class UploadQuotaExceededError extends DsnError {
  readonly caller: string;
  readonly quota: number;
  constructor(caller: string, quota: number) {
    super(
      `${caller} has ${quota} staged uploads open, the most one caller may: complete or let some expire first`,
    );
    this.caller = caller;
    this.quota = quota;
  }

  override get code(): string {
    return 'TooManyOpenUploads';
  }
}

/**
 * No listener node can take another listener: each holds its listeners in DynamoDB items of at
 * most 400 KB, one per node (about 10,000 listeners) and one per node and path (about 1,000).
 */
export class ListenerCapacityError extends DsnError {
  readonly path: string;
  readonly nodes: number;
  constructor(path: string, nodes: number) {
    super(
      `no listener node can take another listener on path "${path}": each of the ${nodes} node(s) holds as many listeners as its items do (about 10,000 per node, about 1,000 per node on one path); remove some, or deploy more listener nodes`,
    );
    this.path = path;
    this.nodes = nodes;
  }

  override get code(): string {
    return 'ListenerCapacityReached';
  }
}

/** No work item with this id in this vault. */
export class WorkItemNotFoundError extends DsnError {
  readonly vault: string;
  readonly id: string;
  constructor(vault: string, id: string) {
    super(`no work item "${id}" in vault "${vault}"`);
    this.vault = vault;
    this.id = id;
  }
}

/** No listener with this id in this vault (never created, or removed). */
export class ListenerNotFoundError extends DsnError {
  readonly vault: string;
  readonly id: string;
  constructor(vault: string, id: string) {
    super(`vault "${vault}" has no listener "${id}"`);
    this.vault = vault;
    this.id = id;
  }
}

/** No edge client group with this name (shared/edge/): `PUT /admin/edge/groups/{group}` makes one. */
export class EdgeGroupNotFoundError extends DsnError {
  readonly group: string;
  constructor(group: string) {
    super(`no edge group "${group}"; configure it with PUT /admin/edge/groups/${group}`);
    this.group = group;
  }
}

/** The work item is not in a state that allows this call (cancelling a running item, say). */
export class WorkItemStateError extends DsnError {
  readonly id: string;
  readonly state: string;
  constructor(id: string, state: string, message: string) {
    super(`work item ${id} is ${state}: ${message}`);
    this.id = id;
    this.state = state;
  }
}

/**
 * The caller's session may not read this object until the scanner calls it clean (seed 004): it
 * is `pending` or `skipped`, and the session is unprotected and did not write it.
 */
export class NotScannedError extends DsnError {
  readonly vault: string;
  readonly key: string;
  readonly scanState: string;
  constructor(vault: string, key: string, scanState: string) {
    super(
      `"${key}" in vault "${vault}" is ${scanState === 'pending' ? 'not scanned yet' : 'not scanned (skipped)'}: an unprotected session reads only clean objects and its own uploads`,
    );
    this.vault = vault;
    this.key = key;
    this.scanState = scanState;
  }
}

/** The scanner found a signature in this object: only an admin may read it. */
export class QuarantinedError extends DsnError {
  readonly vault: string;
  readonly key: string;
  constructor(vault: string, key: string) {
    super(
      `"${key}" in vault "${vault}" is quarantined (the scanner found a signature in it); only an admin key may read it`,
    );
    this.vault = vault;
    this.key = key;
  }
}

/** The call is for admin keys only (`admin` on every vault). */
export class AdminOnlyError extends DsnError {
  readonly action: string;
  constructor(action: string) {
    super(`${action} needs an admin key (the admin action on every vault)`);
    this.action = action;
  }

  override get code(): string {
    return 'AccessDenied';
  }
}

/**
 * The request does not prove who sent it: unsigned, badly signed, signed too far from the
 * server's time, a presigned URL past its expiry, or an unknown, disabled or expired key.
 * `code` says which (`MissingAuthentication`, `InvalidSignature`, `RequestTimeTooSkewed`,
 * `RequestExpired`, `InvalidAccessKeyId`, `ExpiredToken`).
 */
export class UnauthenticatedError extends DsnError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
  override get code(): string {
    return this.reason;
  }
}

/**
 * The signer's policy does not allow the call. The message names the action and what it was
 * on, never whether the vault or object exists.
 */
export class AccessDeniedError extends DsnError {
  readonly action: string;
  constructor(action: string, on: string) {
    super(`the key's policy does not allow ${action} on ${on}`);
    this.action = action;
  }
}

/** No access key with this id (admin routes only; signing with one is an UnauthenticatedError). */
export class AccessKeyNotFoundError extends DsnError {
  readonly accessKeyId: string;
  constructor(accessKeyId: string) {
    super(`no access key "${accessKeyId}"`);
    this.accessKeyId = accessKeyId;
  }
}

/** No replication job with this id. */
export class ReplicationNotFoundError extends DsnError {
  readonly id: string;
  constructor(id: string) {
    super(`no replication job "${id}"`);
    this.id = id;
  }
}

/** No task with this id in this replication job. */
export class ReplicationTaskNotFoundError extends DsnError {
  readonly jobId: string;
  readonly taskId: string;
  constructor(jobId: string, taskId: string) {
    super(`replication job "${jobId}" has no task "${taskId}"`);
    this.jobId = jobId;
    this.taskId = taskId;
  }
}

/** The replication job or task is not in a state that allows this call. */
export class ReplicationStateError extends DsnError {
  readonly id: string;
  readonly state: string;
  constructor(id: string, state: string, message: string) {
    super(`${id} is ${state}: ${message}`);
    this.id = id;
    this.state = state;
  }
}

/**
 * A leased role's holder lost it: its lease was taken over after expiry or released by an
 * operator, so its token is stale and its writes are refused. The holder stops.
 */
export class RoleLostError extends DsnError {
  readonly role: string;
  readonly token: number;
  constructor(role: string, token: number, why: string) {
    super(
      `role "${role}": token ${token} is no longer the holder's (${why}); its writes are refused`,
    );
    this.role = role;
    this.token = token;
  }
}

/** No leased role with this name. */
export class RoleNotFoundError extends DsnError {
  readonly role: string;
  constructor(role: string, known: readonly string[]) {
    super(`no role "${role}" (known: ${known.join(', ')})`);
    this.role = role;
  }
}

/** The vault is frozen by an admin command: writes are refused (reads go on) until unfrozen. */
export class VaultFrozenError extends DsnError {
  readonly vault: string;
  readonly command: string;
  constructor(vault: string, command: string, by: string, at: string) {
    super(
      `vault "${vault}" is frozen (command ${command} by ${by} at ${at}); writes are refused until the vault.unfreeze command`,
    );
    this.vault = vault;
    this.command = command;
  }
}

/** No admin command with this id in the audit log. */
export class CommandNotFoundError extends DsnError {
  readonly id: string;
  constructor(id: string) {
    super(`no admin command "${id}"`);
    this.id = id;
  }
}

/**
 * A topology change cannot be proposed now: another proposal on the same parent is open (at most
 * one may be, so one can win), or the vault's data is still moving onto its current topology.
 */
export class TopologyConflictError extends DsnError {
  readonly vault: string;
  /** The open proposal, or the running job (both named by a topology id). */
  readonly blocking: string;
  /** When the open proposal expires at the latest (ISO 8601), if it is a proposal. */
  readonly expiresAt?: string;
  constructor(
    vault: string,
    blocking: string,
    what: 'proposal' | 'job' = 'proposal',
    expiresAt?: Date,
  ) {
    const until =
      expiresAt === undefined
        ? ''
        : ` or until it expires at ${expiresAt.toISOString()}, when a new proposal replaces it`;
    super(
      what === 'proposal'
        ? `proposal ${blocking} on the current topology of vault "${vault}" is still open; wait until it is decided${until} (GET /vaults/${vault}/topology)`
        : `the job moving vault "${vault}" onto topology ${blocking} is still running; propose again once it is done (GET /vaults/${vault}/topology/job)`,
    );
    this.vault = vault;
    this.blocking = blocking;
    if (expiresAt !== undefined) this.expiresAt = expiresAt.toISOString();
  }
}

/** The vault exists but no topology job has run on it. */
export class TopologyJobNotFoundError extends DsnError {
  readonly vault: string;
  constructor(vault: string) {
    super(
      `no topology job has run on vault "${vault}"; a replace, drain or re-stripe starts one (POST /vaults/${vault}/topology)`,
    );
    this.vault = vault;
  }
}

type DsnErrorClass = abstract new (...args: never[]) => DsnError;

/**
 * The HTTP status of each error class an API call can end with, in one place. The first class
 * the error is an instance of decides; a DsnError not listed (a defect inside the store, such
 * as an unreadable slice) is a 500 like any unexpected error.
 */
export const HTTP_STATUS: ReadonlyArray<readonly [DsnErrorClass, number]> = [
  [InvalidParameterError, 400],
  [UnauthenticatedError, 401],
  [AccessDeniedError, 403],
  [AccessKeyNotFoundError, 404],
  [VaultNotFoundError, 404],
  [ObjectNotFoundError, 404],
  [UploadNotFoundError, 404],
  [RevisionNotFoundError, 404],
  [RebuildNotFoundError, 404],
  [TopologyJobNotFoundError, 404],
  [RouteNotFoundError, 404],
  [WorkItemNotFoundError, 404],
  [ListenerNotFoundError, 404],
  [EdgeGroupNotFoundError, 404],
  [ReadGrantRefusedError, 403],
  [ReplicationNotFoundError, 404],
  [ReplicationTaskNotFoundError, 404],
  [VaultExistsError, 409],
  [UploadStateError, 409],
  [DispersalStateError, 409],
  [TopologySupersededError, 409],
  [WorkItemStateError, 409],
  [PreconditionFailedError, 412],
  [NotScannedError, 403],
  [QuarantinedError, 403],
  [AdminOnlyError, 403],
  [ReplicationStateError, 409],
  [RoleLostError, 409],
  [RoleNotFoundError, 404],
  [CommandNotFoundError, 404],
  [VaultFrozenError, 423],
  [TopologyConflictError, 409],
  [PayloadTooLargeError, 413],
  [RangeNotSatisfiableError, 416],
  [RebuildRestartTooSoonError, 429],
  [UploadQuotaExceededError, 429],
  [ListenerCapacityError, 507],
  [WriteThresholdNotMetError, 503],
  [SegmentLostError, 503],
  [TooFewShardsError, 503],
];

/** The HTTP status for `err`: from `HTTP_STATUS`, else 500. */
export function statusOf(err: unknown): number {
  if (!(err instanceof DsnError)) return 500;
  return HTTP_STATUS.find(([type]) => err instanceof type)?.[1] ?? 500;
}
