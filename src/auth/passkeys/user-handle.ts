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
  const fresh = randomToken();
  const [, rows] = await db.batch([
    db.insert(webauthnUserHandles).values({ userId, handle: fresh }).onConflictDoNothing(),
    db
      .select({ handle: webauthnUserHandles.handle })
      .from(webauthnUserHandles)
      .where(eq(webauthnUserHandles.userId, userId)),
  ]);
  const handle = rows[0]?.handle;
  if (!handle) throw new Error("user handle not stored");
  return handle;
}
