/**
 * Where fauxqs (and the fastify inside it) has no option for what the local cloud needs, the
 * local cloud wraps methods of its classes' prototypes. A wrap must happen once per process,
 * however many clouds start in it (the tests start dozens), or each start would wrap the last
 * wrap again. So each adaptation marks the prototype it changed, under its own name.
 */

/** The mark an adaptation leaves on a prototype (a symbol: no library property can clash). */
const markOf = (name: string) => Symbol.for(`dsn.local-cloud.patch.${name}`);

/**
 * Replaces each of `methods` on `proto` with `wrap(original, method)`, unless the adaptation
 * `name` was applied to it before. The replacement is called as the method, `this` and all.
 */
export function patchOnce<P extends object, K extends keyof P>(
  proto: P,
  name: string,
  methods: readonly K[],
  wrap: (original: P[K], method: K) => P[K],
): void {
  const marks = proto as Record<symbol, boolean | undefined>;
  const mark = markOf(name);
  if (marks[mark]) return;
  for (const method of methods) proto[method] = wrap(proto[method], method);
  marks[mark] = true;
}
