// The Worker's view of two Postgres modules that drizzle-orm's dialect-neutral code imports
// (wrangler.toml [alias] of the specifiers "../pg-core/columns/enum.js", from drizzle-orm/sql/sql.js,
// and "./pg-core/primary-keys.js", from drizzle-orm/relations.js). Through them the SQLite Worker
// bundled Postgres column, enum, foreign-key and constraint classes it never uses (about 8 KiB
// minified). Both answers stay what they are for a SQLite schema: nothing is a Postgres enum,
// and nothing is a Postgres primary-key builder. drizzle-orm's `is()` matches classes by their
// entity kind, which is the one static member kept here. Check these against drizzle-orm's
// sources when upgrading it.
const isPgEnumSym = Symbol.for("drizzle:isPgEnum");

/** drizzle-orm/pg-core/columns/enum.js `isPgEnum`, unchanged. */
export function isPgEnum(obj) {
  return !!obj && typeof obj === "function" && isPgEnumSym in obj && obj[isPgEnumSym] === true;
}

/** Stands in for drizzle-orm/pg-core/primary-keys.js `PrimaryKeyBuilder` in `is(x, PrimaryKeyBuilder)`. */
export function PrimaryKeyBuilder() {}
PrimaryKeyBuilder[Symbol.for("drizzle:entityKind")] = "PgPrimaryKeyBuilder";
