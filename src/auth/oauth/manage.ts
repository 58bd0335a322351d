import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type AuditEntry, auditInsertWhere } from "../../audit/audit";
import type { Db } from "../../db/client";
import { oauthIdentities } from "../../db/schema";
import { otherSignInMethodRemains } from "../sign-in-methods";

/** The owner's list of linked identities, newest first: never the subject's tokens, which are not stored. */
export const listIdentities = (db: Db, userId: string) =>
  db
    .select({
      id: oauthIdentities.id,
      provider: oauthIdentities.provider,
      email: oauthIdentities.email,
      createdAt: oauthIdentities.createdAt,
      lastUsedAt: oauthIdentities.lastUsedAt,
    })
    .from(oauthIdentities)
    .where(eq(oauthIdentities.userId, userId))
    .orderBy(desc(oauthIdentities.createdAt), desc(oauthIdentities.id));

export type UnlinkResult = "unlinked" | "not_found" | "last_method" | "stale";

/**
 * Unlinks one of `userId`'s identities in one statement that also requires
 * another way to sign in to remain (`otherSignInMethodRemains`) and the
 * step-up proof to still hold, so two removals racing each other cannot
 * both leave the account without a way in. The audit line is written by the
 * same batch under the same condition. When nothing was removed, a read in
 * the same batch says why (no such identity of this account, the last method, or a proof
 * that went stale).
 */
export async function unlinkIdentity(
  db: Db,
  userId: string,
  identityId: string,
  stillHolds: SQL,
  audit: AuditEntry,
  /** How the batch goes to D1: a step-up proof's `send` adds the proof's own statements. */
  send: (statements: BatchItem<"sqlite">[]) => Promise<unknown[]> = (statements) =>
    db.batch(statements as [BatchItem<"sqlite">]),
): Promise<UnlinkResult> {
  const mine = and(eq(oauthIdentities.id, identityId), eq(oauthIdentities.userId, userId));
  const condition = sql`${mine} and ${otherSignInMethodRemains(userId, "", identityId)} and ${stillHolds}`;
  // The reason read rides in the same batch, after the delete: one round trip either way.
  const [, removed, why] = (await send([
    auditInsertWhere(db, audit, sql`exists (select 1 from ${oauthIdentities} where ${condition})`),
    db.delete(oauthIdentities).where(condition).returning({ id: oauthIdentities.id }),
    db
      .select({ other: sql<number>`${otherSignInMethodRemains(userId, "", identityId)}` })
      .from(oauthIdentities)
      .where(mine),
  ])) as [unknown, { id: string }[], { other: number }[]];
  if (removed.length > 0) return "unlinked";
  const [row] = why;
  if (!row) return "not_found";
  return row.other ? "stale" : "last_method";
}
