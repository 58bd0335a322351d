import { and, eq, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { auditInsertWhere } from "../audit/audit";
import { insertWhere } from "../db/insert-where";
import { sessions, type UserRow, users } from "../db/schema";
import type { AppEnv, Config } from "../env";
import { clientIp, userAgent } from "../http/client";
import { AppError } from "../http/errors";
import { toPublicUser } from "../users/present";
import { accountSuspended, newSession } from "./sessions";
import { signAccessToken } from "./tokens";
import { type FirstFactor, prepareMfaChallenge } from "./totp/challenge";
import { requireEncryptionKey } from "./totp/keys";

/**
 * Factors a sign-in proved, stored on the session like OIDC's `amr`. A
 * passkey is `hwk` (RFC 8176: proof of possession of a key) plus `uv`
 * (WebAuthn user verification: PIN or biometrics, the authenticator does
 * not say which): two factors.
 */
export type Factor = "pwd" | "otp" | "recovery" | "email" | "oauth" | "hwk" | "uv";

export type MfaMethod = "totp" | "recovery_code";

export type SignIn = {
  /** The account the method proved, as loaded before its check. */
  user: UserRow;
  factors: Factor[];
  /** What the method's check saw (e.g. `passwordStillHolds`): every write of the sign-in carries it. */
  stillHolds: SQL;
  /** The method's own writes (clearing its failure counters) that go in the same batch, before the session; not run when a second factor is still due. */
  before?: BatchItem<"sqlite">[];
  /**
   * A password method's hash at today's `BCRYPT_COST`, when the stored one was made at another.
   * Written last (it changes what `stillHolds` compares), and an mfaToken is bound to it.
   */
  upgradedHash?: string;
  /** Audit details of the method (e.g. `{ via: "login/mfa" }`). */
  details?: Record<string, unknown>;
  /** The audit action of a completed sign-in (default `login_success`; social sign-in: `oauth_login`). */
  auditAction?: "login_success" | "oauth_login";
  /** The method's single-use secret, when the door is to spend it (see `Claim`). */
  claim?: Claim;
};

/**
 * A method's single-use secret (email code, mfaToken, passkey counter) taken
 * in the door's own batch instead of a round trip before it. Its statements
 * run after the session insert, so every write before them sees the secret
 * still there: the method puts the claim's condition ("the secret is live
 * and matches") in `stillHolds`, and D1 runs a batch as one transaction, so
 * of parallel uses exactly one batch both finds the secret and takes it.
 * They run whatever the door decides (a refused sign-in still spends a right
 * secret, as when the claim came first): on their own when the door refuses
 * before writing (suspended, unverified), before the mfaToken when a second
 * factor is due.
 */
export type Claim = {
  statements: BatchItem<"sqlite">[];
  /** From the statements' results: whether this batch took the secret. */
  taken: (results: unknown[]) => boolean;
  /** The answer when it did not (a wrong, spent or expired secret). */
  refused: () => AppError;
};

type Statements = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];

/** Runs a claim on its own (one round trip): resolves when it took the secret, throws the method's refusal otherwise. */
export async function spendClaim(c: Context<AppEnv>, claim: Claim | undefined) {
  if (!claim?.statements.length) return;
  if (!claim.taken(await c.var.db.batch(claim.statements as Statements))) throw claim.refused();
}

export type SignInAnswer =
  | Awaited<ReturnType<typeof tokenResponse>>
  | { mfaRequired: true; mfaToken: string; methods: MfaMethod[]; expiresIn: number };

/** A wrong email or password, and a sign-in whose check went stale: one answer. */
export const invalidCredentials = () => new AppError(401, "INVALID_CREDENTIALS", "Invalid email or password");

/**
 * The one door every sign-in method ends at (password, then a second factor;
 * OAuth, passkeys and email codes later). It decides, in one place: the
 * account is active; an account
 * with MFA that proved one factor gets an mfaToken instead of tokens; and
 * otherwise a session is created carrying its auth time (`last_proof_at`,
 * what step-up reads) and its factors (`amr`), with the audit line, in one
 * batch conditional on `stillHolds`. A check that went stale meanwhile (a
 * password change, a suspension, a deletion) writes nothing and answers 401.
 * Call it only after the method has proven the account.
 */
export async function completeSignIn(c: Context<AppEnv>, signIn: SignIn): Promise<SignInAnswer> {
  const { db, config } = c.var;
  const { user, factors, stillHolds, claim } = signIn;
  // A refusal decided before writing still spends the secret; a wrong secret answers as the method's failure.
  if (user.status !== "active") {
    await spendClaim(c, claim);
    throw accountSuspended();
  }
  // An unverified account signs in even with REQUIRE_EMAIL_VERIFICATION on: its session reaches only the
  // routes that get it verified or let it leave (the guard), and verifying needs that session (N1).
  const ip = clientIp(c);
  const before = signIn.before ?? [];
  const after = signIn.upgradedHash
    ? [
        db
          .update(users)
          .set({ passwordHash: signIn.upgradedHash })
          .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash), eq(users.status, "active"))),
      ]
    : [];

  if (user.mfaEnabledAt && factors.length < 2) {
    // Without the key the second step could not be checked: say so now, not after the password.
    requireEncryptionKey(config);
    // The mfaToken is issued only for a secret this request took (the challenge's insert carries no condition).
    await spendClaim(c, claim);
    const challenge = await prepareMfaChallenge(
      { db },
      { id: user.id, passwordHash: signIn.upgradedHash ?? user.passwordHash },
      factors[0] as FirstFactor,
    );
    // The challenge is bound to the password hash it was issued against, so a stale one is useless by itself.
    // `before` (the method giving back its failure counts) is not run: the attempt stays counted until the
    // second step completes, so whoever has the password cannot reset the lockout between rounds of codes.
    await db.batch([...challenge.statements, ...after] as Statements);
    return {
      mfaRequired: true,
      mfaToken: challenge.mfaToken,
      methods: ["totp", "recovery_code"],
      expiresIn: challenge.expiresIn,
    };
  }

  const { session, row } = await openSession(c, user.id, factors);
  const results = await db.batch([
    ...before,
    auditInsertWhere(
      db,
      {
        action: signIn.auditAction ?? "login_success",
        actorId: user.id,
        targetId: user.id,
        ip,
        details: signIn.details,
      },
      stillHolds,
    ),
    insertWhere(db, sessions, row, stillHolds).returning({ id: sessions.id }),
    ...(claim?.statements ?? []),
    ...after,
  ] as Statements);
  const created = results[before.length + 1] as { id: string }[];
  if (claim && !claim.taken(results.slice(before.length + 2, before.length + 2 + claim.statements.length))) {
    throw claim.refused();
  }
  // The password changed, or the account was deleted or suspended, while the check ran.
  if (!created[0]) throw invalidCredentials();
  return tokenResponse(config, user, session.id, session.refreshToken);
}

/**
 * A new session of `userId` for this request's client, carrying the factors
 * that proved it (`amr`): its row, to insert conditionally in the caller's
 * batch, and its refresh token. Used by the door and by a password change
 * (which replaces the caller's session).
 */
export async function openSession(c: Context<AppEnv>, userId: string, factors: Factor[]) {
  const session = await newSession({
    userId,
    userAgent: userAgent(c),
    ip: clientIp(c),
    ttlSeconds: c.var.config.REFRESH_TOKEN_TTL,
  });
  // The session's auth time is its created_at. `last_proof_at` stays empty: a sign-in is not step-up
  // proof, so a token stolen right after login still cannot change the email or delete the account.
  return { session, row: { ...session.row, amr: factors.join(",") } };
}

/** The usual login answer: an access token for the session, its refresh token, and the user. */
export async function tokenResponse(config: Config, user: UserRow, sessionId: string, refreshToken: string) {
  return {
    accessToken: await signAccessToken(
      { sub: user.id, sid: sessionId, role: user.role },
      config.JWT_SECRET,
      config.ACCESS_TOKEN_TTL,
    ),
    refreshToken,
    tokenType: "Bearer" as const,
    expiresIn: config.ACCESS_TOKEN_TTL,
    user: toPublicUser(user),
  };
}
