import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LOCAL_CLOUD_NODE_FLAGS, nodeFlagsNote } from '../../../infra/local/node-flags.ts';
import { PROJECT_ROOT } from '../../helpers/paths.ts';

const scripts: Record<string, string> = JSON.parse(
  readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'),
).scripts;

/** The scripts that run a local cloud in their own process: npm start, and the benchmarks that start one. */
function cloudScripts(): string[] {
  const names = ['start'];
  for (const [name, command] of Object.entries(scripts)) {
    const file = /^node (?:--\S+ )*(bench\/\S+\.ts)$/.exec(command)?.[1];
    if (!file) continue;
    const source = readFileSync(join(PROJECT_ROOT, file), 'utf8');
    if (source.includes("from './local-cloud.ts'")) names.push(name);
  }
  return names;
}

test('npm start and every benchmark that starts a local cloud run node with its flags', () => {
  const names = cloudScripts();
  assert.ok(names.includes('bench:dsn') && names.includes('bench:work'), names.join(', '));
  for (const name of names) {
    const args = (scripts[name] as string).split(' ');
    for (const flag of LOCAL_CLOUD_NODE_FLAGS)
      assert.ok(args.includes(flag), `script "${name}" (${scripts[name]}) lacks ${flag}`);
  }
});

test('this Node accepts the flags', () => {
  const run = spawnSync(process.execPath, [...LOCAL_CLOUD_NODE_FLAGS, '-e', ''], {
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
});

test("a benchmark's header says whether its process has the flags", () => {
  assert.equal(nodeFlagsNote([...LOCAL_CLOUD_NODE_FLAGS]), 'node --no-concurrent-marking');
  assert.match(nodeFlagsNote([]), /^node without --no-concurrent-marking \(npm run passes it/);
});
