import { type SQL, sql } from "drizzle-orm";
import { AppError } from "../http/errors";

/**
 * A condition on the `users` row being demoted, suspended or deleted: true
 * unless it is an active admin and no other active admin exists. Every such
 * write carries it in its own WHERE, so the check and the write are one
 * statement: when two admins demote each other at the same moment, SQLite runs
 * the statements one after the other and the second sees the first's result
 * (no other admin left) and matches nothing.
 */
export const leavesAnActiveAdmin = (userId: string): SQL => sql`(
  "users"."role" != 'admin' or "users"."status" != 'active' or exists (
    select 1 from "users" as "other"
    where "other"."role" = 'admin' and "other"."status" = 'active' and "other"."id" != ${userId}))`;

export const lastAdmin = () => new AppError(409, "LAST_ADMIN", "That would leave no active admin");
