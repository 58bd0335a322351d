import { eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { webauthnUserHandles } from "../../db/schema";
import { randomToken } from "../tokens";

/**
 * The account's WebAuthn user handle: 32 random bytes made on first use and
 * kept for good, so an authenticator holds one passkey per account and RP,
 * and nothing it stores (or shows to whoever holds it) is the email or the
 * user id. Insert-if-absent and read in one batch: parallel first uses agree.
 */
export async function userHandle(db: Db, userId: string): Promise<string> {
  const [, rows] = await db.batch(userHandleStatements(db, userId));
  return handleOf(rows);
}

/** `userHandle`'s two statements, unexecuted, for a caller that batches them with its own. */
export const userHandleStatements = (db: Db, userId: string) =>
  [
    db.insert(webauthnUserHandles).values({ userId, handle: randomToken() }).onConflictDoNothing(),
    db
      .select({ handle: webauthnUserHandles.handle })
      .from(webauthnUserHandles)
      .where(eq(webauthnUserHandles.userId, userId)),
  ] as const;

/** The handle from the select of `userHandleStatements`. */
export function handleOf(rows: { handle: string }[]): string {
  const handle = rows[0]?.handle;
  if (!handle) throw new Error("user handle not stored");
  return handle;
}
