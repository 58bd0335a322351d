import { and, eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../db/client";
import { oauthIdentities, users } from "../../db/schema";
import { isUniqueViolation } from "../../users/conflicts";
import { NO_PASSWORD } from "../sign-in-methods";
import { randomToken } from "../tokens";
import type { ProviderIdentity } from "./identity";

const USERNAME_ATTEMPTS = 4;

/**
 * A username from the email's local part: the characters usernames allow,
 * 3-24 of them (room for a suffix), then `-` and 6 random base64url
 * characters when the plain one is taken.
 */
export function deriveUsername(email: string, attempt: number): string {
  let base = (email.split("@")[0] ?? "")
    .replace(/[^A-Za-z0-9_.-]/g, "")
    .replace(/^[.-]+/, "")
    .slice(0, 24);
  if (base.length < 3) base = `user${base}`;
  if (attempt === 0) return base;
  // Six characters of a random token (base64url: letters, digits, - and _, all allowed in usernames).
  return `${base}-${randomToken().slice(0, 6)}`;
}

export type CreateResult = { ok: true; userId: string } | { ok: false; reason: "email_taken" | "identity_taken" };

/**
 * Creates the account for a new identity whose email nobody has, and links
 * the identity, in one batch (one transaction): either both exist or
 * neither. The account has no password: `has_password` is false and the
 * hash is `NO_PASSWORD`, which no password matches; a password login for it
 * is compared against the dummy hash like an unknown email (POST /login), so
 * it fails exactly like a wrong password until `forgot-password` sets one. The email is
 * verified only when the provider says so (`decideSignIn` creates only for
 * provider-verified emails; kept as a second line). When the email was registered,
 * or the identity linked, between the caller's decision and this write,
 * nothing is created and the caller resolves the identity again.
 * `also(userId)` adds the caller's writes for the new account to the same
 * batch (the callback's login code): they land only with the account.
 */
export async function createAccountForIdentity(
  deps: { db: Db },
  identity: ProviderIdentity & { email: string },
  also: (userId: string) => BatchItem<"sqlite">[] = () => [],
): Promise<CreateResult> {
  const { db } = deps;
  const now = new Date().toISOString();
  for (let attempt = 0; attempt < USERNAME_ATTEMPTS; attempt++) {
    const userId = crypto.randomUUID();
    try {
      await db.batch([
        db.insert(users).values({
          id: userId,
          username: deriveUsername(identity.email, attempt),
          email: identity.email,
          passwordHash: NO_PASSWORD,
          hasPassword: false,
          emailVerifiedAt: identity.emailVerified ? now : null,
          createdAt: now,
          updatedAt: now,
        }),
        db.insert(oauthIdentities).values({
          id: crypto.randomUUID(),
          userId,
          provider: identity.provider,
          subject: identity.subject,
          email: identity.email,
          createdAt: now,
          lastUsedAt: now,
        }),
        ...also(userId),
      ]);
      return { ok: true, userId };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Which unique index refused it, read from the data rather than from D1's message.
      const [email, link] = await db.batch([
        db.select({ id: users.id }).from(users).where(eq(users.email, identity.email)),
        db
          .select({ id: oauthIdentities.id })
          .from(oauthIdentities)
          .where(and(eq(oauthIdentities.provider, identity.provider), eq(oauthIdentities.subject, identity.subject))),
      ]);
      if (link.length > 0) return { ok: false, reason: "identity_taken" };
      if (email.length > 0) return { ok: false, reason: "email_taken" };
      // The username was taken: try a suffixed one.
    }
  }
  // Four taken usernames in a row (three of them random) means something else is wrong.
  throw new Error("could not derive a free username");
}
