import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureRootCredentials } from '../../../infra/local/credentials.ts';
import { tempDir } from '../../helpers/local-cloud.ts';

/** Runs `body` with the path of a key file in a folder of its own, removed after. */
async function withKeyFile(prefix: string, body: (file: string, dir: string) => Promise<void>) {
  const dir = await tempDir(prefix);
  try {
    await body(join(dir.path, 'credentials.json'), dir.path);
  } finally {
    await dir.remove();
  }
}

test('the root key is created once, mode 0600, with no temporary file left, and read back after', async () => {
  await withKeyFile('dsn-credentials', async (file, dir) => {
    const first = await ensureRootCredentials(file, {});
    assert.equal(first.created, true);
    assert.match(first.accessKeyId, /^DSNROOT[A-Z2-7]{13}$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dir), ['credentials.json']);
    const again = await ensureRootCredentials(file, {
      DSN_ACCESS_KEY_ID: 'OTHER',
      DSN_SECRET_ACCESS_KEY: 'other',
    });
    assert.deepEqual(again, { ...first, created: false });
  });
});

test('two starts at once on one folder end with one key, the same for both', async () => {
  await withKeyFile('dsn-credentials-race', async (file, dir) => {
    const [a, b] = await Promise.all([
      ensureRootCredentials(file, {}),
      ensureRootCredentials(file, {}),
    ]);
    assert.equal(a.accessKeyId, b.accessKeyId);
    assert.equal(a.secretAccessKey, b.secretAccessKey);
    assert.equal([a.created, b.created].filter(Boolean).length, 1);
    assert.equal(JSON.parse(await readFile(file, 'utf8')).accessKeyId, a.accessKeyId);
    assert.deepEqual(await readdir(dir), ['credentials.json']);
  });
});

test('a key file that is not JSON is refused with its name and the way out', async () => {
  await withKeyFile('dsn-credentials-bad', async (file) => {
    await writeFile(file, '');
    await assert.rejects(
      ensureRootCredentials(file, {}),
      (err: Error) =>
        err.message.includes(`${file} is not JSON`) &&
        err.message.includes('remove it and the next start creates a new root key'),
    );
    await writeFile(file, '{"accessKeyId": 3}');
    await assert.rejects(
      ensureRootCredentials(file, {}),
      /must hold \{"accessKeyId","secretAccessKey"\}/,
    );
    // Nothing was replaced: the file is as it was.
    assert.equal(await readFile(file, 'utf8'), '{"accessKeyId": 3}');
  });
});
