/**
 * Loopback-only listening for the local cloud's servers, with a one-line error when a port is
 * taken that names the variable which moves it.
 */
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';

/** A fixed port the local cloud needs is already taken. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
  readonly port: number;
  readonly variable: string;
  constructor(port: number, variable: string, options?: { cause?: unknown }) {
    super(
      `port ${port} is already in use; set ${variable} to another port (or 0 for any free one)`,
      options,
    );
    this.port = port;
    this.variable = variable;
  }
}

function isAddrInUse(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

/** Listens on 127.0.0.1:`port` and resolves with the bound port. */
export async function listenLoopback(
  server: Server,
  port: number,
  variable: string,
): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(isAddrInUse(err) ? new PortInUseError(port, variable, { cause: err }) : err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return address.port;
}

/**
 * Runs `start` while every `listen` on all interfaces is narrowed to 127.0.0.1. Some embedded
 * emulators hard-code `0.0.0.0`, which would expose a developer's data to their network; the
 * local cloud serves loopback only. Starts must not overlap (the cloud starts them in turn).
 * `onServer` sees each server as it starts listening.
 */
export async function withLoopbackListen<T>(
  start: () => Promise<T>,
  port: number,
  variable: string,
  onServer?: (server: NetServer) => void,
): Promise<T> {
  const original = NetServer.prototype.listen;
  NetServer.prototype.listen = function (this: NetServer, ...args: unknown[]) {
    onServer?.(this);
    const [first] = args;
    if (typeof first === 'object' && first !== null && 'host' in first) {
      const opts = first as { host?: string };
      if (opts.host === '0.0.0.0' || opts.host === '::') args[0] = { ...opts, host: '127.0.0.1' };
    }
    return (original as (...a: unknown[]) => NetServer).apply(this, args);
  } as typeof original;
  try {
    return await start();
  } catch (err) {
    if (isAddrInUse(err)) throw new PortInUseError(port, variable, { cause: err });
    throw err;
  } finally {
    NetServer.prototype.listen = original;
  }
}

/** A port that was free a moment ago on 127.0.0.1, for servers that must know theirs up front. */
export async function freeLoopbackPort(): Promise<number> {
  const probe = new NetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
