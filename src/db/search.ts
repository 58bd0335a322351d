import { type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";

/**
 * Case-insensitive prefix match. `%`, `_` and `\` in the search are escaped
 * so they match themselves; a constant prefix on a `COLLATE NOCASE` column
 * lets SQLite use that column's index instead of scanning the table.
 */
export const startsWith = (column: SQLiteColumn, q: string): SQL =>
  sql`${column} like ${`${q.replace(/[\\%_]/g, "\\$&")}%`} escape '\\'`;
