import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  gateRead,
  LOCAL_ROOT,
  type Principal,
  type ReadDecision,
  readDecision,
  SCAN_STATES,
  type ScanState,
} from '../../../shared/access/index.ts';
import { NotScannedError, QuarantinedError, statusOf } from '../../../shared/errors.ts';

const reader: Principal['policy'] = [{ vaults: ['*'], actions: ['read', 'write', 'list'] }];
const sessions: Record<string, Principal> = {
  admin: { ...LOCAL_ROOT, protected: false },
  protected: { accessKeyId: 'S1', rootKeyId: 'K1', policy: reader, protected: true },
  unprotected: { accessKeyId: 'S2', rootKeyId: 'K2', policy: reader, protected: false },
  'unprotected writer': { accessKeyId: 'S3', rootKeyId: 'K3', policy: reader, protected: false },
  /** Admin on one vault only is not an admin. */
  'vault admin': {
    accessKeyId: 'S4',
    rootKeyId: 'K4',
    policy: [{ vaults: ['v'], actions: ['admin'] }],
    protected: false,
  },
};

/** The table of read-gate.ts, row by row: what each session may read of an object K3 wrote. */
const expected: Record<string, Record<ScanState | 'unrecorded', ReadDecision>> = {
  admin: {
    clean: 'allowed',
    pending: 'allowed',
    skipped: 'allowed',
    infected: 'allowed',
    unrecorded: 'allowed',
  },
  protected: {
    clean: 'allowed',
    pending: 'allowed',
    skipped: 'allowed',
    infected: 'Quarantined',
    unrecorded: 'allowed',
  },
  'unprotected writer': {
    clean: 'allowed',
    pending: 'allowed',
    skipped: 'allowed',
    infected: 'Quarantined',
    unrecorded: 'allowed',
  },
  unprotected: {
    clean: 'allowed',
    pending: 'NotScanned',
    skipped: 'NotScanned',
    infected: 'Quarantined',
    unrecorded: 'NotScanned',
  },
  'vault admin': {
    clean: 'allowed',
    pending: 'NotScanned',
    skipped: 'NotScanned',
    infected: 'Quarantined',
    unrecorded: 'NotScanned',
  },
};

test('every kind of session against every scan state gets the table’s answer', () => {
  for (const [kind, principal] of Object.entries(sessions)) {
    for (const state of [...SCAN_STATES, 'unrecorded' as const]) {
      const object = { writer: 'K3', ...(state === 'unrecorded' ? {} : { scanState: state }) };
      assert.equal(
        readDecision(principal, object),
        expected[kind]?.[state],
        `${kind} reading a ${state} object`,
      );
    }
  }
});

test('the local root (no authentication) reads everything, as every existing test does', () => {
  for (const state of SCAN_STATES)
    assert.equal(readDecision(LOCAL_ROOT, { scanState: state }), 'allowed');
});

test('an object with no recorded writer is nobody’s own upload', () => {
  const unprotected = sessions.unprotected as Principal;
  assert.equal(readDecision(unprotected, { scanState: 'pending' }), 'NotScanned');
  assert.equal(
    readDecision(unprotected, { scanState: 'pending', writer: unprotected.rootKeyId }),
    'allowed',
  );
});

test('a refused read is a 403 NotScanned or Quarantined naming the object', () => {
  const unprotected = sessions.unprotected as Principal;
  const object = { vault: 'v', key: 'a/b.bin', writer: 'K9' };
  assert.throws(
    () => gateRead(unprotected, { ...object, scanState: 'pending' }),
    (err: unknown) =>
      err instanceof NotScannedError &&
      err.code === 'NotScanned' &&
      statusOf(err) === 403 &&
      /a\/b\.bin/.test(err.message),
  );
  assert.throws(
    () => gateRead(unprotected, { ...object, scanState: 'infected' }),
    (err: unknown) =>
      err instanceof QuarantinedError && err.code === 'Quarantined' && statusOf(err) === 403,
  );
  assert.doesNotThrow(() => gateRead(unprotected, { ...object, scanState: 'clean' }));
});
