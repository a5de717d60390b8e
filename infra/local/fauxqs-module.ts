/**
 * A module of fauxqs's build that its entry point does not export (`./s3/s3Store.js`), for the
 * local cloud's layers that patch its classes where fauxqs offers no option or hook.
 */
export function fauxqsModule(path: string): Promise<unknown> {
  return import(new URL(path, import.meta.resolve('fauxqs')).href);
}
