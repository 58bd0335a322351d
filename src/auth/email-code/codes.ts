import { and, eq, gt, lt, lte, sql } from "drizzle-orm";
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

/**
 * Checks a login code. An attempt is reserved first (one conditional UPDATE,
 * `attempts < 5`, on a live code), so however many guesses run in parallel
 * at most five are ever compared per code. A right code is then claimed with
 * one conditional DELETE … RETURNING that also requires the account still to
 * have this address: of parallel right answers exactly one gets ok, and a
 * code sent to an address the account has since left is dead. The caller
 * counts every failure toward the lockout like a wrong password, and on ok
 * signs in through the door, with `takeBackAccount` in the same batch when
 * the email was never verified (one factor: TOTP, when on, still follows).
 */
export async function verifyEmailCode(deps: EmailCodeDeps, email: string, code: string): Promise<EmailCodeResult> {
  const nowIso = new Date(clock(deps)).toISOString();
  const address = normalEmail(email);
  const emailHash = await emailKey(address);
  const live = and(eq(emailLoginCodes.emailHash, emailHash), gt(emailLoginCodes.expiresAt, nowIso));
  const [reserved] = await deps.db
    .update(emailLoginCodes)
    .set({ attempts: sql`${emailLoginCodes.attempts} + 1` })
    .where(and(live, lt(emailLoginCodes.attempts, EMAIL_CODE_MAX_ATTEMPTS)))
    .returning({ codeHash: emailLoginCodes.codeHash, attempts: emailLoginCodes.attempts });
  if (!reserved) return { ok: false, reason: "no_code" };
  const attemptsLeft = EMAIL_CODE_MAX_ATTEMPTS - reserved.attempts;
  const hash = /^\d{6}$/.test(code) ? await codeHash(deps.secret, emailHash, code) : "";
  if (hash !== reserved.codeHash) return { ok: false, reason: "invalid_code", attemptsLeft };

  const [claimed] = await deps.db
    .delete(emailLoginCodes)
    .where(
      and(
        live,
        eq(emailLoginCodes.codeHash, hash),
        sql`${emailLoginCodes.userId} = (select ${users.id} from ${users} where ${users.email} = ${address})`,
      ),
    )
    .returning({ userId: emailLoginCodes.userId });
  if (!claimed?.userId) return { ok: false, reason: "invalid_code", attemptsLeft };
  return { ok: true, userId: claimed.userId };
}
