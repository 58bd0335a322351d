import { and, asc, eq } from "drizzle-orm";
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

export type RemovalResult = { ok: true; passkey: Passkey } | { ok: false; reason: "not_found" | "last_sign_in_method" };

/**
 * Removes one of the account's passkeys unless it is its last way in (409
 * LAST_SIGN_IN_METHOD at the route). The check is the DELETE's own WHERE, so
 * two devices removing the last two passkeys at once cannot both succeed.
 */
export async function removePasskey(db: Db, userId: string, passkeyId: string): Promise<RemovalResult> {
  const mine = and(eq(passkeyCredentials.id, passkeyId), eq(passkeyCredentials.userId, userId));
  const [removed] = await db
    .delete(passkeyCredentials)
    .where(and(mine, otherSignInMethodRemains(userId, passkeyId)))
    .returning(passkeyColumns);
  if (removed) return { ok: true, passkey: removed };
  const [still] = await db.select({ id: passkeyCredentials.id }).from(passkeyCredentials).where(mine);
  return { ok: false, reason: still ? "last_sign_in_method" : "not_found" };
}
