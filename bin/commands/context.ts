/**
 * What a command group is given to register its commands: `run`, which runs a command's body
 * with a Session (the global options turned into a client, output and progress bars) and
 * reports its failure. bin/dsn.ts implements `run`, so errors and exit codes stay in one place.
 */
import type { Command } from 'commander';
import { DsnClient } from '../client.ts';
import { findCredentials, regionFor } from '../credentials.ts';
import { type ErrorContext, UsageError } from '../errors.ts';
import { type BarOptions, lazyBar, NO_PROGRESS, type Progress } from '../progress.ts';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:3000';

/** The program's own options, as commander parses them. */
export interface Globals {
  endpoint?: string;
  json?: boolean;
  debug?: boolean;
  progress: boolean;
}

export interface BarRequest extends Omit<BarOptions, 'stream'> {
  /** The command writes its data to stdout (`dsn get v/k -`). */
  dataOnStdout?: boolean;
}

/** One run of a command, the global options applied. */
export interface Session {
  /** `--json`: one JSON document on stdout instead of human output. */
  readonly json: boolean;
  /**
   * The API at `--endpoint`, else DSN_ENDPOINT, else the local cloud.
   * @throws UsageError when that is not an http(s) URL
   */
  client(): DsnClient;
  /** Human output on stdout, or the JSON document with `--json`. */
  print(json: unknown, human: () => string): void;
  /**
   * Whether `print` wrote something: with `--json`, a command that printed its document and
   * then fails adds no second one (stdout stays one JSON document), only its exit code.
   */
  readonly printed: boolean;
  /** A bar on stderr, or NO_PROGRESS when bars are not wanted. */
  bar(opts: BarRequest): Progress;
  /** Names the vault and key the command turned out to be about, for the hints of its error. */
  about<T extends ErrorContext>(names: T): T;
  /** The exit status of a command that succeeded but has news for scripts (`dsn explain`). */
  exitWith(code: number): void;
}

/**
 * Runs one command: `label` names it in the error line ("put a.jpg photos/a.jpg"), `ctx`
 * names its vault and key for hints.
 */
export type Run = (
  cmd: Command,
  label: string,
  ctx: ErrorContext,
  body: (s: Session) => Promise<void>,
) => Promise<void>;

export interface CommandContext {
  run: Run;
}

export function globalsOf(cmd: Command): Globals {
  return cmd.optsWithGlobals() as Globals;
}

function endpointOf(g: Globals): string {
  const endpoint = g.endpoint ?? (process.env.DSN_ENDPOINT || DEFAULT_ENDPOINT);
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`endpoint "${endpoint}" is not a URL (like ${DEFAULT_ENDPOINT})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`endpoint "${endpoint}" must be http:// or https://`);
  }
  return endpoint;
}

/** A Session for options `g`; `about` adds to `ctx`, which the caller reports errors with. */
export function createSession(g: Globals, ctx: ErrorContext): Session {
  return {
    json: g.json === true,
    client: () => {
      const endpoint = endpointOf(g);
      const credentials = findCredentials();
      return new DsnClient(
        endpoint,
        g.debug ? (line) => process.stderr.write(`dsn: ${line}\n`) : undefined,
        credentials && { credentials, region: regionFor(endpoint) },
      );
    },
    printed: false,
    print(json, human) {
      const text = g.json ? JSON.stringify(json, null, 2) : human();
      if (!text) return;
      process.stdout.write(`${text}\n`);
      (this as { printed: boolean }).printed = true;
    },
    bar({ dataOnStdout, ...opts }) {
      // Beside human output, a bar needs stdout on a terminal too: piped or `--json` output
      // gets none. When stdout carries the data (`dsn get v/k > file`), stderr's is enough.
      const wanted = dataOnStdout
        ? g.progress
        : g.progress && !g.json && process.stdout.isTTY === true;
      return wanted ? lazyBar({ stream: process.stderr, ...opts }) : NO_PROGRESS;
    },
    about: (names) => Object.assign(ctx, names),
    exitWith: (code) => {
      process.exitCode = code;
    },
  };
}
