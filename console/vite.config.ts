// The web console's build: Preact through Vite, served by functions/console.ts under /console/.
import { resolve } from 'node:path';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [preact()],
  build: {
    outDir: resolve(import.meta.dirname, '..', 'dist', 'console'),
    emptyOutDir: true,
    // One small app: a single chunk keeps the function's file list short.
    chunkSizeWarningLimit: 1024,
  },
  // The dispersal's worker (client/uplink-worker.ts) is started as a module worker.
  worker: { format: 'es' },
  logLevel: 'warn',
});
