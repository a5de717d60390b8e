import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  currentRules,
  LOCAL_ROOT,
  MAX_RULES_BYTES,
  type Principal,
  putScanRules,
  RULES_CACHE_MS,
  type RulesStore,
  type StoredRules,
  showScanRules,
} from '../../../shared/access/index.ts';
import { AdminOnlyError, PayloadTooLargeError, statusOf } from '../../../shared/errors.ts';
import { ManualClock } from '../../helpers/clock.ts';

/** The rules document in memory, as the control table keeps it; reads are counted. */
class MemoryRulesStore implements RulesStore {
  stored: StoredRules | undefined;
  reads = 0;
  async get() {
    this.reads++;
    return this.stored && { ...this.stored };
  }
  async put(rules: StoredRules) {
    this.stored = { ...rules };
  }
}

const writer: Principal = {
  accessKeyId: 'AK1',
  rootKeyId: 'AK1',
  policy: [{ vaults: ['*'], actions: ['read', 'write'] }],
  protected: true,
};

test('only an admin key uploads or reads scan rules: others get 403 AccessDenied', async () => {
  const deps = { rules: new MemoryRulesStore(), clock: new ManualClock() };
  await assert.rejects(
    putScanRules(deps, writer, 'X:0:*:4142'),
    (err: unknown) =>
      err instanceof AdminOnlyError && err.code === 'AccessDenied' && statusOf(err) === 403,
  );
  await assert.rejects(showScanRules(deps, writer), AdminOnlyError);
  assert.equal(deps.rules.stored, undefined);
});

test('an upload is stored with who and when, and answered with what it counted and skipped', async () => {
  // Prepare
  const deps = { rules: new MemoryRulesStore(), clock: new ManualClock() };
  const text = `${'c'.repeat(64)}:*:Hash.One\nPat.One:0:*:41424344\nPat.Two:0:EP+0:4142\n`;

  // Act
  const summary = await putScanRules(deps, LOCAL_ROOT, text);
  const shown = await showScanRules(deps, LOCAL_ROOT);

  // Assess
  assert.equal(summary.hashes, 1);
  assert.equal(summary.patterns, 1);
  assert.deepEqual(
    summary.skipped.map((s) => [s.line, s.text]),
    [[3, 'Pat.Two:0:EP+0:4142']],
  );
  assert.deepEqual(deps.rules.stored, {
    text,
    updatedAt: '2026-12-01T00:00:00.000Z',
    updatedBy: 'local-root',
  });
  assert.equal(shown.text, text);
});

test('rules over the size one item holds are a 413, and nothing is stored', async () => {
  const deps = { rules: new MemoryRulesStore(), clock: new ManualClock() };
  await assert.rejects(
    putScanRules(deps, LOCAL_ROOT, '#'.repeat(MAX_RULES_BYTES + 1)),
    PayloadTooLargeError,
  );
  assert.equal(deps.rules.stored, undefined);
});

test('scans use the built-in rules and the upload, read again once RULES_CACHE_MS has passed', async () => {
  // Prepare
  const clock = new ManualClock();
  const store = new MemoryRulesStore();
  const rules = currentRules({ rules: store, clock });

  // Act and assess: nothing uploaded, the built-in EICAR rules alone.
  const first = await rules();
  assert.deepEqual(
    first.patterns.map((p) => p.name),
    ['Eicar-Test-Signature.body'],
  );
  await putScanRules({ rules: store, clock }, LOCAL_ROOT, 'Mine:0:*:41424344');
  assert.equal(await rules(), first, 'within the cache time the rules read before are used');
  clock.advance(RULES_CACHE_MS);
  assert.deepEqual(
    (await rules()).patterns.map((p) => p.name),
    ['Eicar-Test-Signature.body', 'Mine'],
  );
  assert.equal(store.reads, 2);
});
