import { getTableColumns, type SQL, sql } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "./client";

/**
 * `INSERT INTO table SELECT <row> WHERE condition`: an insert that happens
 * only when the condition holds at the moment it runs. In a `db.batch` it sees
 * the same state as the batch's other statements, so a check made earlier
 * (a bcrypt compare, a permission) can be re-asserted inside the write.
 * `row` is keyed by the table's property names; missing keys insert NULL.
 */
export function insertWhere<T extends SQLiteTable>(db: Db, table: T, row: Record<string, unknown>, condition: SQL) {
  // In the table's column order, which is the order INSERT … SELECT fills them in.
  const values = Object.entries(getTableColumns(table)).map(([key, column]) =>
    row[key] == null ? sql`null` : sql.param(row[key], column),
  );
  return db.insert(table).select(sql`select ${sql.join(values, sql`, `)} where ${condition}`);
}
