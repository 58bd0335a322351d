import { and, eq, isNotNull, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { insertWhere } from "../../db/insert-where";
import { oauthIdentities, users } from "../../db/schema";
import type { ProviderIdentity } from "./identity";
import { decideLink, decideSignIn, type LinkDecision, type SignInDecision } from "./linking";

/**
 * Marks the identity used by a sign-in (`lastUsedAt`), for the owner's list;
 * put in the batch that completes the sign-in.
 */
export const touchIdentity = (db: Db, identity: Pick<ProviderIdentity, "provider" | "subject">) =>
  db
    .update(oauthIdentities)
    .set({ lastUsedAt: new Date().toISOString() })
    .where(and(eq(oauthIdentities.provider, identity.provider), eq(oauthIdentities.subject, identity.subject)));

const linkedTo = (db: Db, identity: ProviderIdentity) =>
  db
    .select({ userId: oauthIdentities.userId })
    .from(oauthIdentities)
    .where(and(eq(oauthIdentities.provider, identity.provider), eq(oauthIdentities.subject, identity.subject)));

/** Inserts the identity for `userId` only while `condition` holds; a (provider, subject) already taken inserts nothing. */
const insertIdentity = (db: Db, identity: ProviderIdentity, userId: string, condition: ReturnType<typeof and>) =>
  insertWhere(
    db,
    oauthIdentities,
    {
      id: crypto.randomUUID(),
      userId,
      provider: identity.provider,
      subject: identity.subject,
      email: identity.email,
      createdAt: new Date().toISOString(),
      // Every link follows a sign-in at the provider: used now, like an identity made with its account.
      lastUsedAt: new Date().toISOString(),
    },
    sql`exists (select 1 from ${users} where ${condition})`,
  )
    .onConflictDoNothing()
    .returning({ userId: oauthIdentities.userId });

/**
 * Resolves a provider identity for sign-in: reads its link and the account
 * holding its email in one batch, applies `decideSignIn`, and performs an
 * automatic link atomically: the insert re-checks, in the same statement,
 * that the account still has that email and that it is still verified, and
 * cannot take a (provider, subject) someone linked meanwhile. When the
 * world changed between the read and the write, the identity is resolved
 * once more from what is now stored. `create` is left to the caller (the
 * account is made with the identity in one batch by the sign-in route).
 */
export async function resolveSignIn(db: Db, identity: ProviderIdentity): Promise<SignInDecision> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const [link, account] = await db.batch([
      linkedTo(db, identity),
      db
        .select({ id: users.id, emailVerifiedAt: users.emailVerifiedAt })
        .from(users)
        .where(eq(users.email, identity.email ?? "")),
    ]);
    const decision = decideSignIn(identity, link[0] ?? null, identity.email ? (account[0] ?? null) : null);
    if (decision.action !== "link") return decision;
    const condition = and(
      eq(users.id, decision.userId),
      eq(users.email, identity.email ?? ""),
      isNotNull(users.emailVerifiedAt),
    );
    const inserted = await insertIdentity(db, identity, decision.userId, condition);
    if (inserted.length > 0) return decision;
  }
  return { action: "refuse", code: "ACCOUNT_EXISTS" };
}

/**
 * Links an identity to a signed-in account (after the route's step-up).
 * The insert cannot take a (provider, subject) that is linked already, so of
 * two accounts racing to link one identity exactly one gets it; the other,
 * like anyone linking an identity someone else holds, gets `IDENTITY_IN_USE`.
 * An account deleted or suspended meanwhile gets nothing linked (`ACCOUNT_GONE`).
 */
export async function linkIdentity(
  db: Db,
  identity: ProviderIdentity,
  userId: string,
): Promise<LinkDecision | { action: "refuse"; code: "ACCOUNT_GONE" }> {
  const [link] = await db.batch([linkedTo(db, identity)]);
  const decision = decideLink(link[0] ?? null, userId);
  if (decision.action !== "link") return decision;
  // A link started before a suspension completes nothing.
  const inserted = await insertIdentity(db, identity, userId, and(eq(users.id, userId), eq(users.status, "active")));
  if (inserted.length > 0) return decision;
  // Nothing inserted: someone linked it meanwhile, or the account was deleted or suspended under us.
  const [now] = await linkedTo(db, identity);
  return now ? decideLink(now, userId) : { action: "refuse", code: "ACCOUNT_GONE" };
}
