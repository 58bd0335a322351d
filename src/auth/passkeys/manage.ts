import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type AuditEntry, auditInsertWhere } from "../../audit/audit";
import type { Db } from "../../db/client";
import { passkeyCredentials } from "../../db/schema";
import { otherSignInMethodRemains } from "../sign-in-methods";
import { type Passkey, passkeyColumns } from "./present";

/** The account's passkeys, oldest first. */
export const listPasskeys = (db: Db, userId: string): Promise<Passkey[]> =>
  db
    .select(passkeyColumns)
    .from(passkeyCredentials)
    .where(eq(passkeyCredentials.userId, userId))
    .orderBy(asc(passkeyCredentials.createdAt), asc(passkeyCredentials.id));

/** Renames one of the account's own passkeys; null when it has no passkey with that id (another user's included). */
export async function renamePasskey(db: Db, userId: string, passkeyId: string, name: string): Promise<Passkey | null> {
  const [row] = await db
    .update(passkeyCredentials)
    .set({ name: name.trim() })
    .where(and(eq(passkeyCredentials.id, passkeyId), eq(passkeyCredentials.userId, userId)))
    .returning(passkeyColumns);
  return row ?? null;
}

export type RemovalResult =
  | { ok: true; passkey: Passkey }
  | { ok: false; reason: "not_found" | "last_sign_in_method" | "stale_proof" };

/**
 * Removes one of the account's passkeys unless it is its last way in (409
 * LAST_SIGN_IN_METHOD at the route). The check is the DELETE's own WHERE, so
 * two devices removing the last two passkeys at once cannot both succeed.
 * `condition` is the caller's step-up proof (`proveStepUp`), carried by the
 * same WHERE; `audit` is written in the same batch exactly when the row goes.
 * One round trip: the batch also reads why nothing was removed. `send`: how
 * the batch goes to D1 (a step-up proof's, which adds its own statements).
 */
export async function removePasskey(
  db: Db,
  userId: string,
  passkeyId: string,
  {
    condition = sql`1`,
    audit,
    send = (statements) => db.batch(statements as [BatchItem<"sqlite">]),
  }: { condition?: SQL; audit?: AuditEntry; send?: (statements: BatchItem<"sqlite">[]) => Promise<unknown[]> } = {},
): Promise<RemovalResult> {
  const mine = and(eq(passkeyCredentials.id, passkeyId), eq(passkeyCredentials.userId, userId));
  const allowed = sql`${otherSignInMethodRemains(userId, passkeyId)} and ${condition}`;
  const remove = db.delete(passkeyCredentials).where(and(mine, allowed)).returning(passkeyColumns);
  const why = db
    .select({ id: passkeyCredentials.id, otherRemains: sql<number>`${otherSignInMethodRemains(userId, passkeyId)}` })
    .from(passkeyCredentials)
    .where(mine);
  type Rows = [Passkey[], { id: string; otherRemains: number }[]];
  const [removed, still] = audit
    ? await send([
        auditInsertWhere(db, audit, sql`exists (select 1 from ${passkeyCredentials} where ${mine}) and ${allowed}`),
        remove,
        why,
      ]).then(([, r, w]) => [r, w] as Rows)
    : ((await send([remove, why])) as Rows);
  if (removed[0]) return { ok: true, passkey: removed[0] };
  if (!still[0]) return { ok: false, reason: "not_found" };
  // Another way in remains, so it was the caller's proof that went stale meanwhile (a logout, a password change).
  return { ok: false, reason: still[0].otherRemains ? "stale_proof" : "last_sign_in_method" };
}
