import { and, eq, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import type { Db } from "../../db/client";
import { oauthIdentities } from "../../db/schema";
import type { AppEnv } from "../../env";
import { clientNetwork } from "../../http/client";
import { AppError, notFound, tooManyRequests } from "../../http/errors";
import { clearFailures, failureScope, reserveAttempt } from "../lockout/failures";
import { passwordStillHolds } from "../password-proof";
import { completeSignIn, invalidCredentials, type SignInAnswer } from "../sign-in";
import { createAccountForIdentity } from "./accounts";
import { type Provider, parseProviders } from "./config";
import type { OAuthDeps } from "./deps";
import { resolveSignIn } from "./identities";
import type { ProviderIdentity } from "./identity";

/**
 * The services' dependencies from configuration. The callback URL is built
 * from `OAUTH_CALLBACK_ORIGIN` (default: `APP_URL`'s origin), never from the
 * request's Host header, which whoever sends the request chooses.
 */
export function oauthDeps(c: Context<AppEnv>): OAuthDeps {
  const { config, db } = c.var;
  const base = config.OAUTH_CALLBACK_ORIGIN ?? config.APP_URL;
  if (!base) throw new AppError(503, "MISCONFIGURED", "Server misconfigured: OAUTH_CALLBACK_ORIGIN is not set");
  const origin = new URL(base).origin;
  return { db, callbackUrl: (id) => `${origin}/oauth/${id}/callback` };
}

/** The configured provider `id`, or 404 (a bad `OAUTH_PROVIDERS` answers 503 here, on the OAuth routes only). */
export function providerOf(c: Context<AppEnv>, id: string): Provider {
  const provider = parseProviders(c.var.config.OAUTH_PROVIDERS).get(id);
  if (!provider) throw notFound("Provider");
  return provider;
}

export type AccountForIdentity =
  /** `email` is the account's (read with the link, or the one it was matched by or made with). */
  | { ok: true; userId: string; how: "signed_in" | "linked" | "created"; email: string }
  | { ok: false; code: "ACCOUNT_EXISTS" | "EMAIL_REQUIRED" };

/**
 * The account a provider identity signs in to, by the linking rules of
 * `decideSignIn`: its linked account, an account linked now (both sides
 * verified the email), or a new account (with the identity, in one batch).
 * When the email was registered or the identity linked between the decision
 * and the creation, the identity is resolved once more from what is stored.
 * `onCreate(userId)` are writes that go in the creation's batch (see
 * `createAccountForIdentity`); they ran only when `how` is "created".
 */
export async function accountForIdentity(
  db: Db,
  identity: ProviderIdentity,
  onCreate?: (userId: string) => BatchItem<"sqlite">[],
): Promise<AccountForIdentity> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const decision = await resolveSignIn(db, identity);
    if (decision.action === "sign_in")
      return { ok: true, userId: decision.userId, how: "signed_in", email: decision.email };
    if (decision.action === "refuse") return { ok: false, code: decision.code };
    if (!identity.email) return { ok: false, code: "EMAIL_REQUIRED" };
    // Linked only while the account still has this address (the link's own condition).
    if (decision.action === "link") return { ok: true, userId: decision.userId, how: "linked", email: identity.email };
    const created = await createAccountForIdentity({ db }, { ...identity, email: identity.email }, onCreate);
    if (created.ok) return { ok: true, userId: created.userId, how: "created", email: identity.email };
  }
  return { ok: false, code: "ACCOUNT_EXISTS" };
}

/** SQL: `userId` still has an identity of `provider` (an unlink landing meanwhile stops the sign-in). */
const identityStillLinked = (userId: string, provider: string): SQL =>
  sql`exists (select 1 from ${oauthIdentities} where ${and(eq(oauthIdentities.userId, userId), eq(oauthIdentities.provider, provider))})`;

/**
 * A social sign-in at the door, for the account with `email` that the
 * method proved (`userId`): refused for a network locked out of that email
 * exactly as for a password (the attempt is counted up front and given back
 * on success), then `completeSignIn` decides suspension, verification and
 * MFA, creates the session with `amr: ["oauth"]` and audits `oauth_login`.
 * Every write carries that the account is unchanged (its password hash and
 * status, as the password login's) and still has an identity of `provider`.
 * `also` goes in the door's batch (under that condition); `decided` are
 * writes already decided (a link's audit line), which ride in the
 * reservation's batch so that they land whatever the door then says.
 */
export async function signInWithIdentity(
  c: Context<AppEnv>,
  proven: { userId: string; email: string; provider: string; via: "oauth/token" | "oauth/id-token" },
  also: BatchItem<"sqlite">[] = [],
  decided: BatchItem<"sqlite">[] = [],
): Promise<SignInAnswer> {
  const { db } = c.var;
  const network = clientNetwork(c);
  const attempt = await reserveAttempt(db, { email: proven.email, network }, { before: decided });
  if (attempt.lockedForSeconds > 0) throw tooManyRequests(attempt.lockedForSeconds, "ACCOUNT_LOCKED");
  const { user } = attempt;
  // The account changed its email (or went away) since the method proved it: nothing to sign in to.
  if (!user || user.id !== proven.userId) throw invalidCredentials();
  const stillHolds = sql`${passwordStillHolds(user.id, user.passwordHash)} and ${identityStillLinked(user.id, proven.provider)}`;
  return completeSignIn(c, {
    user,
    factors: ["oauth"],
    stillHolds,
    before: [clearFailures(db, user.email, [failureScope.account, failureScope.network(network)], stillHolds), ...also],
    auditAction: "oauth_login",
    details: { via: proven.via, provider: proven.provider },
  });
}

export const invalidLoginCode = () =>
  new AppError(401, "INVALID_LOGIN_CODE", "The login code is invalid, expired or already used");
