/**
 * The shape of the code, checked on every run: one folder per system under shared/, which
 * other systems (and the handlers) reach only through its index.ts; no import cycles; and the
 * AWS SDK only behind shared/aws/.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../helpers/paths.ts';

const SOURCE_FOLDERS = ['shared', 'functions', 'bin', 'client', 'infra', 'bench'];
const SYSTEMS = [
  'codec',
  'store',
  'repair',
  'work',
  'listeners',
  'replication',
  'topology',
  'access',
  'edge',
];

function sourceFiles(folder: string): string[] {
  return readdirSync(path.join(PROJECT_ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(PROJECT_ROOT, path.join(e.parentPath, e.name)));
}

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'([^']+)'/gm;

/** Every module a file names in a static import, re-export or dynamic import. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => m[1] as string);
}

function resolveLocal(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return path.normalize(path.join(path.dirname(file), specifier));
}

/** The system a file of shared/ belongs to (`shared/aws/<system>/` counts as outside it). */
function systemOf(file: string): string | undefined {
  const [top, name] = file.split(path.sep);
  return top === 'shared' && name !== undefined && SYSTEMS.includes(name) ? name : undefined;
}

const files = SOURCE_FOLDERS.flatMap(sourceFiles);
const graph = new Map(
  files.map((f) => [
    f,
    importsOf(f)
      .map((s) => resolveLocal(f, s))
      .filter((t): t is string => t !== undefined),
  ]),
);

type Graph = Map<string, string[]>;

/** Imports from shared/ or functions/ into another system's folder, past its index.ts. */
function deepImports(graph: Graph): string[] {
  const deep: string[] = [];
  for (const [file, targets] of graph) {
    if (!file.startsWith(`shared${path.sep}`) && !file.startsWith(`functions${path.sep}`)) continue;
    for (const target of targets) {
      const system = systemOf(target);
      if (system === undefined || system === systemOf(file)) continue;
      if (target !== path.join('shared', system, 'index.ts')) deep.push(`${file} -> ${target}`);
    }
  }
  return deep;
}

/** Each cycle met by a depth-first walk, as `a -> b -> a`. */
function cyclesOf(graph: Graph): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (file: string, trail: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(file)), file].join(' -> '));
      return;
    }
    state.set(file, 'open');
    for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...trail, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  return cycles;
}

test('shared/ and functions/ reach another system only through its index.ts', () => {
  assert.deepEqual(deepImports(graph), []);
});

test('no source file imports itself back through a cycle', () => {
  assert.deepEqual(cyclesOf(graph), []);
});

test('only shared/aws/ imports an AWS SDK inside shared/', () => {
  const offenders = files.filter(
    (f) =>
      f.startsWith(`shared${path.sep}`) &&
      !f.startsWith(path.join('shared', 'aws') + path.sep) &&
      importsOf(f).some((s) => s.startsWith('@aws-sdk/')),
  );
  assert.deepEqual(offenders, []);
});

test('the checks find a deep import and a cycle in a graph that has them', () => {
  // Prepare: the ports <-> vault cycle the store once had, and repair reaching into store.
  const p = (...parts: string[]) => path.join('shared', ...parts);
  const bad: Graph = new Map([
    [p('store', 'ports.ts'), [p('store', 'vault.ts')]],
    [p('store', 'vault.ts'), [p('store', 'ports.ts')]],
    [p('repair', 'rebuilder.ts'), [p('store', 'writer.ts'), p('store', 'index.ts')]],
    [p('aws', 'store', 'ledger.ts'), [p('store', 'index.ts')]],
  ]);
  // Act, Assess
  assert.deepEqual(deepImports(bad), [
    `${p('repair', 'rebuilder.ts')} -> ${p('store', 'writer.ts')}`,
  ]);
  assert.deepEqual(cyclesOf(bad), [
    `${p('store', 'ports.ts')} -> ${p('store', 'vault.ts')} -> ${p('store', 'ports.ts')}`,
  ]);
});
