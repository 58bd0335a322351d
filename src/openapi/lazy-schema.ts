/** The methods a validator calls (and @hono/zod-openapi's `isZod` looks for): answered without building. */
const PARSERS = new Set<PropertyKey>(["parse", "safeParse", "parseAsync", "safeParseAsync"]);

let built = 0;
/** How many lazy schemas this isolate has built so far (test/lazy-schema.test.ts: none at import). */
export const lazySchemasBuilt = () => built;

/**
 * A zod schema built on first use instead of at import. Building the few hundred
 * schemas of the route declarations, the resources and the configuration was most of
 * the Worker's startup CPU (README, "Bundle and startup"); a request builds only the
 * schemas of the route it hits, and the document generator builds all of them.
 *
 * It stands in for the schema everywhere: a Proxy that builds the schema the first
 * time anything but a parse method is read, and then forwards every read to it, with
 * methods bound to the real schema, so `.optional()`, `.extend()`, `.meta()` and the
 * generator's metadata lookups (keyed by the schema object) see the real one. Parse
 * methods are answered by stand-ins that build on their first call, since
 * @hono/zod-openapi checks that a body schema has them when a route is registered.
 * Use it for schemas declared at module level: `export const X = lazySchema(() => z.object(...))`.
 */
export function lazySchema<T extends object>(build: () => T): T {
  let schema: T | undefined;
  const real = () => {
    if (schema === undefined) {
      schema = build();
      built++;
    }
    return schema;
  };
  const parsers = new Map<PropertyKey, (...args: unknown[]) => unknown>();
  return new Proxy({} as T, {
    get(_, key) {
      if (schema === undefined && PARSERS.has(key)) {
        let parse = parsers.get(key);
        if (!parse) {
          parse = (...args) => (real() as Record<PropertyKey, (...a: unknown[]) => unknown>)[key as string]?.(...args);
          parsers.set(key, parse);
        }
        return parse;
      }
      const target = real();
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
    has: (_, key) => Reflect.has(real(), key),
    set: (_, key, value) => Reflect.set(real(), key, value),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor(_, key) {
      const descriptor = Reflect.getOwnPropertyDescriptor(real(), key);
      // A proxy may not report a property as non-configurable when its own target lacks it.
      return descriptor && { ...descriptor, configurable: true };
    },
  });
}
