/**
 * The access system's wiring: the scan task the committer registers, and the rules the admin
 * routes manage. Each reads only its own configuration.
 */
import {
  currentRules,
  everyScanner,
  type Scanner,
  scanTask,
  signatureScanner,
} from '../../access/index.ts';
import { clamdAddress, loadConfig } from '../../config.ts';
import { everyBus, listenerBus } from '../../listeners/index.ts';
import type { AssociatedTask, ReaderDeps } from '../../store/index.ts';
import { wireFanOut } from '../listeners/wire.ts';
import type { Runtime } from '../runtime.ts';
import { SnsEventBus } from '../store/events.ts';
import { DynamoObjectIndex } from '../store/object-index.ts';
import { clamdScanner } from './clamd.ts';
import { DynamoRulesStore } from './rules-store.ts';

/**
 * Objects larger than this are `skipped`: the scan runs inside the committer's batch, whose
 * function has 30 s, and reading 32 MiB from the units takes a fraction of that.
 */
export const SCAN_MAX_BYTES = 32 * 1024 * 1024;

/** How long clamd may stay silent during one scan. */
const CLAMD_TIMEOUT_MS = 20_000;

/** The uploaded scan rules, for the admin routes. */
export function wireScanRules(rt: Runtime) {
  const { controlTable } = loadConfig(rt.env, ['controlTable']);
  return { rules: new DynamoRulesStore(rt.clients.documents, controlTable), clock: rt.clock };
}

/** The built-in signatures, and clamd beside them when `DSN_CLAMD` names one. */
export function wireScanner(rt: Runtime): Scanner {
  const builtin = signatureScanner(currentRules(wireScanRules(rt)));
  const clamd = clamdAddress(rt.env);
  return clamd
    ? everyScanner(builtin, clamdScanner(clamd, { timeoutMs: CLAMD_TIMEOUT_MS }))
    : builtin;
}

/** The committer's scan task, reading objects through `reader` (the committer's own). */
export function wireScanTask(rt: Runtime, reader: ReaderDeps): AssociatedTask {
  const config = loadConfig(rt.env, ['objectsTable', 'eventsTopicArn']);
  return scanTask({
    index: new DynamoObjectIndex(rt.clients.documents, config.objectsTable),
    reader,
    scanner: wireScanner(rt),
    events: everyBus(
      new SnsEventBus(rt.clients.sns, config.eventsTopicArn),
      listenerBus(wireFanOut(rt)),
    ),
    clock: rt.clock,
    log: rt.log,
    maxBytes: SCAN_MAX_BYTES,
  });
}
