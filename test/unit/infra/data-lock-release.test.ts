import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lockDataDir, releaseDataDirLockSync } from '../../../infra/local/data-lock.ts';

test('an exit that cannot wait releases its own lock at once, and never the lock of another cloud', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dsn-lock-'));
  const other = await mkdtemp(join(tmpdir(), 'dsn-lock-'));
  try {
    // Prepare: our lock, and a lock held by another process.
    await lockDataDir(dir);
    await writeFile(join(other, 'cloud.lock'), `${process.pid + 1}\n`);

    // Act
    releaseDataDirLockSync(dir);
    releaseDataDirLockSync(other);
    releaseDataDirLockSync(join(dir, 'never-locked'));

    // Assess
    assert.equal(existsSync(join(dir, 'cloud.lock')), false);
    assert.equal(existsSync(join(other, 'cloud.lock')), true);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(other, { recursive: true, force: true });
  }
});
