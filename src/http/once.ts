// A value built on its first use, then kept: the schemas (src/http/schemas.ts)
// and the modules loaded on first need (src/http/described.ts schemas).

/**
 * A value built on its first use, then kept.
 * @example const Health = once(() => z.object({ status: z.literal("ok") }));
 */
export function once<T>(build: () => T): () => T {
  let value: { built: T } | undefined;
  return () => {
    value ??= { built: build() };
    return value.built;
  };
}
