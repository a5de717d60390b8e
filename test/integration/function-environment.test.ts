/**
 * Each function loads with nothing but the environment serverless.yml gives it. Every handler
 * wires its system when its module loads (`wireX(runtime(...))`), and each wiring reads its
 * variables then; a wiring that starts to read a variable its function is not given fails
 * here, by name, rather than as a function that never finishes its work in some later test.
 * The variables come from the packaged service as the local cloud resolves them, plus only
 * what Lambda itself sets (the `awslambda` global too) and the endpoints that point the SDK at the local cloud.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { endpointEnvironment, type LocalCloud } from '../../infra/local/cloud.ts';
import { PROJECT_ROOT, startTestCloud, tempDir } from '../helpers/local-cloud.ts';

const run = promisify(execFile);

/** Loads `modulePath` and checks `exportName` is a function, in a process of its own. */
const LOAD = `
// The Node.js runtime's global for response-streaming handlers (lambda-worker.ts provides it too).
globalThis.awslambda = { streamifyResponse: (h) => h, HttpResponseStream: { from: (s) => s } };
const [modulePath, exportName] = process.argv.slice(1);
const mod = await import(modulePath);
if (typeof mod[exportName] !== 'function') throw new Error(exportName + ' is not exported as a function');
`;

describe('function environments', () => {
  let cloud: LocalCloud;
  let data: Awaited<ReturnType<typeof tempDir>>;

  before(async () => {
    data = await tempDir('dsn-fn-env');
    cloud = await startTestCloud(PROJECT_ROOT, data.path);
  });
  after(async () => {
    await cloud?.stop();
    await data?.remove();
  });

  test('every function loads with only its own variables', async () => {
    // Arrange
    const functions = cloud.service.functions;
    assert.ok(functions.length >= 8, `functions in serverless.yml: ${functions.length}`);

    // Act
    const failures: string[] = [];
    for (const fn of functions) {
      const env = {
        PATH: process.env.PATH ?? '',
        TZ: 'UTC',
        ...endpointEnvironment(cloud.endpoints, cloud.service.region),
        AWS_LAMBDA_FUNCTION_NAME: fn.name,
        ...cloud.functionEnvironment(fn.key),
      };
      try {
        await run(
          process.execPath,
          ['--input-type=module', '-e', LOAD, pathToFileURL(fn.modulePath).href, fn.exportName],
          { env, cwd: PROJECT_ROOT },
        );
      } catch (err) {
        const stderr = (err as { stderr?: string }).stderr ?? String(err);
        // The thrown error's own line (`ConfigError: DSN_X ...`), not the source line above it.
        const reason = stderr.split('\n').find((l) => /^\w*Error\b/.test(l)) ?? stderr;
        failures.push(`${fn.key}: ${reason.trim()}`);
      }
    }

    // Assert
    assert.deepEqual(failures, []);
  });
});
