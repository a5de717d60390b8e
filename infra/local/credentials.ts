/**
 * The local cloud's root admin key, the counterpart of the stack's `RootKeySecret`: created on
 * first start in `<data dir>/credentials.json` (`{"accessKeyId","secretAccessKey"}`, mode
 * 0600), kept across restarts. The functions read it there (DSN_ROOT_CREDENTIALS_FILE), and so
 * do the CLI and the test helpers.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';

export interface RootCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function newRootCredentials(): RootCredentials {
  let accessKeyId = 'DSNROOT';
  for (const b of randomBytes(13)) accessKeyId += ALPHABET[b & 31];
  return { accessKeyId, secretAccessKey: randomBytes(30).toString('base64url') };
}

/**
 * The credentials in `file`, created there first if it does not exist: from
 * `DSN_ACCESS_KEY_ID` / `DSN_SECRET_ACCESS_KEY` when `env` sets both (the key this shell's CLI
 * signs with becomes the root: scripts and the tests use it), else new random ones.
 */
export async function ensureRootCredentials(
  file: string,
  env: Record<string, string | undefined> = process.env,
): Promise<RootCredentials & { created: boolean }> {
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) {
    let parsed: Partial<RootCredentials> | undefined;
    try {
      parsed = JSON.parse(text) as Partial<RootCredentials>;
    } catch (err) {
      throw new Error(
        `${file} is not JSON (${(err as Error).message}): it must hold {"accessKeyId","secretAccessKey"}; remove it and the next start creates a new root key`,
      );
    }
    if (typeof parsed?.accessKeyId !== 'string' || typeof parsed.secretAccessKey !== 'string')
      throw new Error(`${file} must hold {"accessKeyId","secretAccessKey"}`);
    return {
      accessKeyId: parsed.accessKeyId,
      secretAccessKey: parsed.secretAccessKey,
      created: false,
    };
  }
  const credentials =
    env.DSN_ACCESS_KEY_ID && env.DSN_SECRET_ACCESS_KEY
      ? { accessKeyId: env.DSN_ACCESS_KEY_ID, secretAccessKey: env.DSN_SECRET_ACCESS_KEY }
      : newRootCredentials();
  // Written whole under another name, then linked in: a start killed part-way leaves no
  // half-written key file behind, only the temporary one. The link fails if the file exists:
  // two starts racing on one folder (the data lock stops that anyway) keep the first.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return ensureRootCredentials(file, env);
  } finally {
    await rm(tmp, { force: true });
  }
  return { ...credentials, created: true };
}
