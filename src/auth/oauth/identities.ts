import { and, eq, isNotNull, type SQL, sql } from "drizzle-orm";
import { type AuditEntry, auditInsertWhere } from "../../audit/audit";
import type { Db } from "../../db/client";
import { insertWhere } from "../../db/insert-where";
import { oauthIdentities, users } from "../../db/schema";
import type { ProviderIdentity } from "./identity";
import { decideLink, decideSignIn, type SignInDecision } from "./linking";

/**
 * Marks the identity used by a sign-in (`lastUsedAt`), for the owner's list;
 * put in the batch that completes the sign-in.
 */
export const touchIdentity = (db: Db, identity: Pick<ProviderIdentity, "provider" | "subject">) =>
  db
    .update(oauthIdentities)
    .set({ lastUsedAt: new Date().toISOString() })
    .where(and(eq(oauthIdentities.provider, identity.provider), eq(oauthIdentities.subject, identity.subject)));

/** What the owner sees of a linked identity (GET /me/identities), and whose it is. */
const identityColumns = {
  userId: oauthIdentities.userId,
  id: oauthIdentities.id,
  provider: oauthIdentities.provider,
  email: oauthIdentities.email,
  createdAt: oauthIdentities.createdAt,
  lastUsedAt: oauthIdentities.lastUsedAt,
};

const linkedTo = (db: Db, identity: ProviderIdentity) =>
  db
    .select(identityColumns)
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
    .returning(identityColumns);

/** The account an identity is linked to, with its address (what a sign-in's lockout is keyed by). */
const linkedOwner = (db: Db, identity: ProviderIdentity) =>
  db
    .select({ userId: oauthIdentities.userId, email: users.email })
    .from(oauthIdentities)
    .innerJoin(users, eq(users.id, oauthIdentities.userId))
    .where(and(eq(oauthIdentities.provider, identity.provider), eq(oauthIdentities.subject, identity.subject)));

/** `SignInDecision`, where a sign-in by a linked identity also carries the account's address (read in the same batch). */
export type ResolvedSignIn =
  | Exclude<SignInDecision, { action: "sign_in" }>
  | { action: "sign_in"; userId: string; email: string };

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
export async function resolveSignIn(db: Db, identity: ProviderIdentity): Promise<ResolvedSignIn> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const [link, account] = await db.batch([
      linkedOwner(db, identity),
      db
        .select({ id: users.id, emailVerifiedAt: users.emailVerifiedAt })
        .from(users)
        .where(eq(users.email, identity.email ?? "")),
    ]);
    const decision = decideSignIn(identity, link[0] ?? null, identity.email ? (account[0] ?? null) : null);
    if (decision.action === "sign_in") return { ...decision, email: link[0]?.email ?? "" };
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
 * Links an identity to a signed-in account (POST /me/identities, after the
 * link code proved the browser that started the flow). The insert cannot
 * take a (provider, subject) that is linked already, so of two accounts
 * racing to link one identity exactly one gets it; the other, like anyone
 * linking an identity someone else holds, gets `IDENTITY_IN_USE`. It lands
 * only while the account is active and `holds` (the caller's session check)
 * is true: an account deleted or suspended, or a session ended, meanwhile
 * gets nothing linked (`ACCOUNT_GONE`). Inserting first and reading only
 * when nothing was inserted keeps a new link to one round trip.
 */
export async function linkIdentity(
  db: Db,
  identity: ProviderIdentity,
  userId: string,
  holds?: SQL,
  /** Written in the insert's batch, only when the insert lands (it runs first, under the same conditions). */
  audit?: AuditEntry,
) {
  const active = and(eq(users.id, userId), eq(users.status, "active"), holds);
  const insert = insertIdentity(db, identity, userId, active);
  const free = sql`not exists (select 1 from ${oauthIdentities} where ${and(
    eq(oauthIdentities.provider, identity.provider),
    eq(oauthIdentities.subject, identity.subject),
  )})`;
  const [inserted] = audit
    ? (
        await db.batch([
          auditInsertWhere(db, audit, sql`exists (select 1 from ${users} where ${active}) and ${free}`),
          insert,
        ])
      )[1]
    : await insert;
  const row = inserted ?? (await linkedTo(db, identity))[0];
  if (!row) return { action: "refuse", code: "ACCOUNT_GONE" } as const;
  const { userId: owner, ...linked } = row;
  if (inserted) return { action: "link", identity: linked } as const;
  const decision = decideLink({ userId: owner }, userId);
  return decision.action === "refuse" ? decision : { action: decision.action, identity: linked };
}
