/**
 * What every function's wiring starts from: the environment, the process's SDK clients, the
 * clock and a logger for its system. Built once per process, at module load.
 */
import { type Clock, systemClock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { type AwsClients, awsClients } from './clients.ts';
import { powertoolsLogger } from './logger.ts';

export type Env = Record<string, string | undefined>;

export interface Runtime {
  env: Env;
  clients: AwsClients;
  clock: Clock;
  log: Logger;
}

/** The runtime of a function of `system` (store, repair, ...). */
export function runtime(system: string, env: Env = process.env): Runtime {
  return {
    env,
    clients: awsClients(env),
    clock: systemClock,
    log: powertoolsLogger(`dsn-${env.DSN_STAGE ?? 'unknown'}`, system),
  };
}
