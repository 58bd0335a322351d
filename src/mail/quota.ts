import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { sha256Hex } from "../auth/tokens";
import type { Db } from "../db/client";
import { mailQuota } from "../db/schema";
import type { AppEnv } from "../env";

/** Mail kinds that each have their own per-address hourly budget. */
export type MailKind = "reset" | "verify" | "email_change" | "login_code" | "step_up_code";

/** At most this many mails of one kind per address per hour, whatever the rate limits allow. */
export const MAX_MAILS_PER_HOUR = 3;

const HOUR_SECONDS = 3600;

/** Takes one send of `kind` to `address` from its hourly budget; false when it is spent (answer 200 all the same). */
export const takeMailQuota = (c: Context<AppEnv>, kind: MailKind, address: string) =>
  takeMailQuotaIn(c.var.db, kind, address);

/**
 * Counts one send against the address's hourly budget for `kind` and says
 * whether it is within `max`. One conditional upsert does the check and the
 * count: a row that is at the cap within its window matches the DO UPDATE's
 * WHERE nowhere, so nothing changes and nothing is RETURNed. However many
 * requests run in parallel, D1 applies them one after another and exactly
 * `max` get a row back. A window older than an hour starts over at 1.
 * The window is fixed from its first send. The address is lower-cased (emails
 * are case-insensitive here) and stored only as its SHA-256.
 */
export async function takeMailQuotaIn(
  db: Db,
  kind: MailKind,
  address: string,
  options: { max?: number; now?: number } = {},
): Promise<boolean> {
  const { take } = await mailQuotaStatements(db, kind, address, options);
  return (await take).length > 0;
}

/**
 * `takeMailQuotaIn` unexecuted, for a caller that batches it with the write
 * the mail is about: `take` is the upsert (a row back: the send is within
 * the budget), `room` is SQL true while the budget has room, for that write
 * to carry when it runs before `take` in the same batch (both then see the
 * same count, so the write lands exactly when `take` counts).
 */
export async function mailQuotaStatements(
  db: Db,
  kind: MailKind,
  address: string,
  { max = MAX_MAILS_PER_HOUR, now = Math.floor(Date.now() / 1000) }: { max?: number; now?: number } = {},
) {
  const addressHash = await sha256Hex(address.toLowerCase());
  const expired = sql`${mailQuota.windowStart} <= ${now - HOUR_SECONDS}`;
  const take = db
    .insert(mailQuota)
    .values({ kind, addressHash, windowStart: now, sent: 1 })
    .onConflictDoUpdate({
      target: [mailQuota.kind, mailQuota.addressHash],
      set: {
        sent: sql`case when ${expired} then 1 else ${mailQuota.sent} + 1 end`,
        windowStart: sql`case when ${expired} then ${now} else ${mailQuota.windowStart} end`,
      },
      setWhere: sql`${expired} or ${mailQuota.sent} < ${max}`,
    })
    .returning({ sent: mailQuota.sent });
  const room = sql`not exists (select 1 from ${mailQuota} where ${mailQuota.kind} = ${kind} and ${mailQuota.addressHash} = ${addressHash} and not (${expired}) and ${mailQuota.sent} >= ${max})`;
  return { take, room };
}
