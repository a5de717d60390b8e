import { fileURLToPath } from 'node:url';

export const FIXTURE_SERVICE = fileURLToPath(new URL('../fixtures/service', import.meta.url));
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
