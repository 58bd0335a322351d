import { and, eq, gt, lt, lte, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { emailLoginCodes, users } from "../../db/schema";
import { clock, EMAIL_CODE_MAX_ATTEMPTS, EMAIL_CODE_TTL_SECONDS, type EmailCodeDeps } from "./deps";
import { codeHash, emailKey, normalEmail, sixDigitCode } from "./hash";

export type IssuedCode = {
  code: string;
  /** The account the code signs in to: mail the code only when it is not null. */
  userId: string | null;
  expiresIn: number;
};

/**
 * Issues a 6-digit login code for `email`, replacing any earlier one (and
 * its attempts). The work is the same whether or not an account has the
 * address: one upsert that looks the account up inside itself, and a row
 * either way (with no account behind it, no code can ever be claimed from
 * it), so neither time nor D1 writes tell accounts apart. A suspended
 * account is treated like no account: it gets no code (`userId` null). Only
 * the caller's mail differs, and that is sent after the response. Callers take the mail
 * quota (`takeMailQuota(c, "login_code", email)`) first, for every address,
 * and skip this when it is spent: the quota is what bounds fresh attempts.
 */
export async function issueEmailCode(deps: EmailCodeDeps, email: string): Promise<IssuedCode> {
  const now = clock(deps);
  const address = normalEmail(email);
  const code = sixDigitCode();
  const emailHash = await emailKey(address);
  const hash = await codeHash(deps.secret, emailHash, code);
  const expiresAt = new Date(now + EMAIL_CODE_TTL_SECONDS * 1000).toISOString();
  const [, [row]] = await deps.db.batch([
    deps.db.delete(emailLoginCodes).where(lte(emailLoginCodes.expiresAt, new Date(now).toISOString())),
    deps.db
      .insert(emailLoginCodes)
      .values({
        emailHash,
        userId: sql`(select ${users.id} from ${users} where ${users.email} = ${address} and ${users.status} = 'active')`,
        codeHash: hash,
        attempts: 0,
        expiresAt,
      })
      .onConflictDoUpdate({
        target: emailLoginCodes.emailHash,
        set: {
          userId: sql`excluded.user_id`,
          codeHash: sql`excluded.code_hash`,
          attempts: 0,
          expiresAt: sql`excluded.expires_at`,
        },
      })
      .returning({ userId: emailLoginCodes.userId }),
  ]);
  return { code, userId: row?.userId ?? null, expiresIn: EMAIL_CODE_TTL_SECONDS };
}

export type EmailCodeResult =
  | { ok: true; userId: string }
  | { ok: false; reason: "invalid_code"; attemptsLeft: number }
  | { ok: false; reason: "no_code" };

/** A login code's claim as statements, for the sign-in door's batch (see `Claim` in sign-in.ts). */
export type EmailCodeClaim = {
  /** SQL: a live code with tries left, whose hash is the one sent, for the account that has the address now. */
  matches: SQL;
  /** The claim, then the count of a try that did not claim: run them after every write that carries `matches`. */
  statements: [BatchItem<"sqlite">, BatchItem<"sqlite">];
  /** What the statements did, from their results. */
  result: (results: unknown[]) => EmailCodeResult;
};

/**
 * Checks a login code inside D1, in two statements for one batch. The claim
 * comes first: one conditional DELETE … RETURNING of the live code with
 * fewer than 5 tries, this hash, and the account that has the address now.
 * Then a try that did not claim it is counted (`attempts < 5`). Compare and
 * count happen in the same transaction, so however many guesses run in
 * parallel at most five are ever compared per code, and of parallel right
 * answers exactly one claims it. A code sent to an address the account has
 * since left is dead. The hash is computed here from the code sent; a
 * malformed code can never match but still counts. The caller counts every
 * failure toward the lockout like a wrong password, and signs in through
 * the door with `takeBackAccount` when the email was never verified (one
 * factor: TOTP, when on, still follows).
 */
export async function emailCodeClaim(deps: EmailCodeDeps, email: string, code: string): Promise<EmailCodeClaim> {
  const nowIso = new Date(clock(deps)).toISOString();
  const address = normalEmail(email);
  const emailHash = await emailKey(address);
  const hash = /^\d{6}$/.test(code) ? await codeHash(deps.secret, emailHash, code) : "";
  const live = and(
    eq(emailLoginCodes.emailHash, emailHash),
    gt(emailLoginCodes.expiresAt, nowIso),
    lt(emailLoginCodes.attempts, EMAIL_CODE_MAX_ATTEMPTS),
  );
  const right = and(
    live,
    eq(emailLoginCodes.codeHash, hash),
    sql`${emailLoginCodes.userId} = (select ${users.id} from ${users} where ${users.email} = ${address})`,
  );
  const { db } = deps;
  return {
    matches: sql`exists (select 1 from ${emailLoginCodes} where ${right})`,
    statements: [
      db.delete(emailLoginCodes).where(right).returning({ userId: emailLoginCodes.userId }),
      db
        .update(emailLoginCodes)
        .set({ attempts: sql`${emailLoginCodes.attempts} + 1` })
        .where(live)
        .returning({ attempts: emailLoginCodes.attempts }),
    ],
    result: ([claimed, counted]) => {
      const userId = (claimed as { userId: string | null }[])[0]?.userId;
      if (userId) return { ok: true, userId };
      const tried = (counted as { attempts: number }[])[0];
      return tried
        ? { ok: false, reason: "invalid_code", attemptsLeft: EMAIL_CODE_MAX_ATTEMPTS - tried.attempts }
        : { ok: false, reason: "no_code" };
    },
  };
}

/** `emailCodeClaim` on its own (one round trip), for callers with nothing to batch it with. */
export async function verifyEmailCode(deps: EmailCodeDeps, email: string, code: string): Promise<EmailCodeResult> {
  const claim = await emailCodeClaim(deps, email, code);
  return claim.result(await deps.db.batch(claim.statements));
}
