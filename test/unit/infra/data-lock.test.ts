import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DataDirInUseError, lockDataDir } from '../../../infra/local/data-lock.ts';

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

test('a data folder is locked once; a second cloud is refused with the holder named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dsn-lock-'));
  try {
    // Act
    const release = await lockDataDir(dir);
    const second = await lockDataDir(dir).then(
      () => undefined,
      (err: unknown) => err,
    );
    const held = await readFile(join(dir, 'cloud.lock'), 'utf8');
    await release();
    const again = await lockDataDir(dir);
    await again();

    // Assess
    assert.ok(second instanceof DataDirInUseError);
    assert.equal(second.pid, process.pid);
    assert.match(second.message, /in use by another local cloud \(pid \d+\).*DSN_DATA_DIR/);
    assert.equal(held.trim(), String(process.pid));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a lock left by a killed cloud is taken over; one being written is not, until it is old', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dsn-lock-'));
  const path = join(dir, 'cloud.lock');
  try {
    // Prepare and act: a dead owner's pid.
    await writeFile(path, `${deadPid()}\n`);
    const fromDead = await lockDataDir(dir);
    const owner = (await readFile(path, 'utf8')).trim();
    await fromDead();
    // An empty lock: fresh, then ten seconds old.
    await writeFile(path, '');
    const fresh = await lockDataDir(dir).then(
      () => 'taken',
      (err: Error) => err.name,
    );
    const past = new Date(Date.now() - 10_000);
    await utimes(path, past, past);
    const old = await lockDataDir(dir);
    await old();

    // Assess
    assert.equal(owner, String(process.pid));
    assert.equal(fresh, 'DataDirInUseError');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
