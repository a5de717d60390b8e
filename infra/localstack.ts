/**
 * `npm run deploy:local`: deploys serverless.yml to a LocalStack on 127.0.0.1:4566 (see
 * docker-compose.yml) as stage `localstack`.
 *
 * osls 4 builds its AWS clients with the SDK v3, which honours `AWS_ENDPOINT_URL`; that points
 * the whole deployment at LocalStack. The serverless-localstack plugin cannot be used with
 * osls 4: it calls `provider.getCredentials()`, which osls 4 removed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const LOCALSTACK = 'http://127.0.0.1:4566';

/** LocalStack's health answer, or why there is none. */
export async function localStackHealth(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const res = await fetch(`${LOCALSTACK}/_localstack/health`, {
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) return { ok: false, reason: `LocalStack answered ${res.status} on ${LOCALSTACK}` };
    return { ok: true };
  } catch (err) {
    return {
      ok: false,
      reason: `nothing answers on ${LOCALSTACK} (${(err as Error).message}); start it with \`docker compose up -d\``,
    };
  }
}

/** Runs `serverless <args>` against LocalStack; resolves with its exit code. */
export function serverlessOnLocalStack(args: string[]): Promise<number> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const bin = fileURLToPath(new URL('../node_modules/osls/bin/serverless.js', import.meta.url));
  const child = spawn(process.execPath, [bin, ...args, '--stage', 'localstack'], {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      AWS_ENDPOINT_URL: LOCALSTACK,
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
      AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    },
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

if (import.meta.main) {
  const health = await localStackHealth();
  if (!health.ok) {
    console.error(`deploy:local: ${health.reason}`);
    process.exit(1);
  }
  process.exit(
    await serverlessOnLocalStack(process.argv.slice(2).length ? process.argv.slice(2) : ['deploy']),
  );
}
