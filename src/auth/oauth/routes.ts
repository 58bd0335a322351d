import type { Context } from "hono";
import { auditInsert } from "../../audit/audit";
import type { AppEnv } from "../../env";
import { appOrigins } from "../../http/app-origins";
import { clientIp, clientNetwork } from "../../http/client";
import { ok } from "../../http/envelope";
import { AppError, notFound, unauthorized, validationError } from "../../http/errors";
import { enforceRateLimit } from "../../http/rate-limit";
import { createRouter } from "../../openapi/router";
import { sessionHoldsInWrite } from "../guard";
import { reserveAttempt } from "../lockout/failures";
import { proveStepUp, reauthenticationRequired } from "../step-up/proof";
import { startAuthorization } from "./authorize";
import { finishAuthorization } from "./callback";
import { type Provider, parseProviders, publicProviders } from "./config";
import { verifyIdToken } from "./id-token";
import { linkIdentity, touchIdentity } from "./identities";
import { claimLinkCode, claimLoginCode, issueLoginCode, newLoginCode } from "./login-codes";
import { sendIdentityLinkedNotice } from "./mail";
import { listIdentities, unlinkIdentity } from "./manage";
import {
  authorizeRoute,
  callbackRoute,
  completeLinkRoute,
  idTokenRoute,
  linkIdentityRoute,
  listIdentitiesRoute,
  providersRoute,
  tokenRoute,
  unlinkIdentityRoute,
} from "./routes.defs";
import { accountForIdentity, invalidLoginCode, oauthDeps, providerOf, signInWithIdentity } from "./sign-in";

/**
 * `redirectUri` (checked against the allowed origins when the state was made)
 * with `params` added. A `code` or `error` the SPA's URL already carried is
 * dropped, so the SPA never reads a value someone else put in the link next
 * to ours.
 */
function back(redirectUri: string, params: Record<string, string>) {
  const url = new URL(redirectUri);
  for (const key of ["code", "error"]) url.searchParams.delete(key);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.href;
}

const refusedRedirect = (reason: "redirect_uri" | "code_challenge", field: string) =>
  validationError([
    reason === "redirect_uri"
      ? {
          path: field,
          message: "must be an http(s) URL on the origin of APP_URL or CORS_ORIGINS, without credentials or fragment",
        }
      : { path: field, message: "must be a PKCE S256 challenge (43 base64url characters)" },
  ]);

/** The audit line of an identity linked to an account, for the caller's batch. */
const linkAudit = (c: Context<AppEnv>, userId: string, provider: Provider, via: string) =>
  auditInsert(c.var.db, {
    action: "identity_link",
    actorId: userId,
    targetId: userId,
    ip: clientIp(c),
    details: { provider: provider.id, via },
  });

/** Social sign-in (issue 13): the browser flow, native ID tokens, and the owner's identities. Services: this folder. */
export const oauthRoutes = createRouter()
  .openapi(providersRoute, (c) => ok(c, "Providers", publicProviders(parseProviders(c.var.config.OAUTH_PROVIDERS))))

  .openapi(authorizeRoute, async (c) => {
    const provider = providerOf(c, c.req.valid("param").provider);
    const query = c.req.valid("query");
    const started = await startAuthorization(oauthDeps(c), provider, appOrigins(c.var.config), {
      redirectUri: query.redirect_uri,
      codeChallenge: query.code_challenge,
    });
    if (!started.ok) throw refusedRedirect(started.reason, started.reason);
    return c.redirect(started.authorizeUrl, 302);
  })

  /**
   * Nothing is trusted before the state is claimed: without it the answer is
   * a JSON 400 and no redirect. After it, every outcome goes back to the
   * redirect the state was made for, with a one-time code (never a token)
   * or an error code. A link flow links nothing here: the browser that
   * completes it may not be the one that started it (an attacker can send
   * their `authorizeUrl` to a victim signed in at the provider), so it gets
   * a link code that only a live session of the starter's account, with the starter's PKCE verifier, redeems.
   */
  .openapi(callbackRoute, async (c) => {
    const provider = providerOf(c, c.req.valid("param").provider);
    const deps = oauthDeps(c);
    const result = await finishAuthorization(deps, provider, c.req.valid("query"));
    if (!result.ok && result.reason === "invalid_state") {
      throw new AppError(400, "INVALID_STATE", "The sign-in expired or was already completed; start again");
    }
    if (!result.ok) {
      const error = result.reason === "access_denied" ? "ACCESS_DENIED" : "PROVIDER_ERROR";
      return c.redirect(back(result.redirectUri, { error }), 302);
    }
    const { identity, redirectUri, codeChallenge, linkUserId } = result;
    if (linkUserId) {
      const code = await issueLoginCode(deps, {
        userId: linkUserId,
        provider: provider.id,
        codeChallenge,
        link: identity,
      });
      return c.redirect(back(redirectUri, { code }), 302);
    }

    // A new account gets its login code in its creation's batch; any other in one batch with its audit line.
    const grant = { provider: provider.id, codeChallenge };
    const fresh = await newLoginCode(deps);
    const account = await accountForIdentity(deps.db, identity, (userId) => fresh.statements({ ...grant, userId }));
    if (!account.ok) return c.redirect(back(redirectUri, { error: account.code }), 302);
    const code =
      account.how === "created"
        ? fresh.code
        : await issueLoginCode(deps, { ...grant, userId: account.userId }, [
            touchIdentity(deps.db, identity),
            ...(account.how === "linked" ? [linkAudit(c, account.userId, provider, "sign-in")] : []),
          ]);
    if (account.how === "linked")
      sendIdentityLinkedNotice(c, { id: account.userId, email: account.email }, provider.name);
    return c.redirect(back(redirectUri, { code }), 302);
  })

  .openapi(tokenRoute, async (c) => {
    const { code, codeVerifier } = c.req.valid("json");
    const { db } = c.var;
    await enforceRateLimit(c, "oauth-token");
    const claimed = await claimLoginCode({ db }, code, codeVerifier);
    if (!claimed) throw invalidLoginCode();
    if (!claimed.verified) {
      // The code named its account: a wrong verifier counts toward that account's lockout like a wrong password,
      // and its audit line rides in the reservation's batch.
      const failure = auditInsert(db, {
        action: "login_failure",
        targetId: claimed.userId,
        ip: clientIp(c),
        details: { via: "oauth/token", provider: claimed.provider },
      });
      await reserveAttempt(db, { email: claimed.email, network: clientNetwork(c) }, { before: [failure] });
      throw invalidLoginCode();
    }
    const answer = await signInWithIdentity(c, { ...claimed, via: "oauth/token" });
    if ("mfaRequired" in answer) return ok(c, "Second factor required", answer);
    return ok(c, "Login successful", answer);
  })

  .openapi(idTokenRoute, async (c) => {
    const { idToken, nonce } = c.req.valid("json");
    const { db } = c.var;
    await enforceRateLimit(c, "oauth-id-token");
    const provider = providerOf(c, c.req.valid("param").provider);
    if (provider.type === "github") throw notFound("Provider");
    const verified = await verifyIdToken(provider, idToken, { nonce: nonce ?? null });
    if (!verified.ok) throw new AppError(401, "INVALID_ID_TOKEN", "The ID token is not valid");
    const { identity } = verified;
    const account = await accountForIdentity(db, identity);
    if (!account.ok && account.code === "ACCOUNT_EXISTS") {
      throw new AppError(409, "ACCOUNT_EXISTS", "An account has this email: sign in to it and link the provider there");
    }
    if (!account.ok)
      throw new AppError(400, "EMAIL_REQUIRED", "The provider gave no verified email to create an account with");
    const { email } = account;
    // A link made here is audited in the reservation's batch (whatever the door then says) and mailed.
    const linked = account.how === "linked";
    if (linked) sendIdentityLinkedNotice(c, { id: account.userId, email }, provider.name);
    const answer = await signInWithIdentity(
      c,
      { userId: account.userId, email, provider: provider.id, via: "oauth/id-token" },
      [touchIdentity(db, identity)],
      linked ? [linkAudit(c, account.userId, provider, "id-token")] : [],
    );
    if ("mfaRequired" in answer) return ok(c, "Second factor required", answer);
    return ok(c, "Login successful", answer);
  })

  .openapi(listIdentitiesRoute, async (c) => ok(c, "Linked identities", await listIdentities(c.var.db, c.var.user.id)))

  .openapi(linkIdentityRoute, async (c) => {
    const { config } = c.var;
    const provider = providerOf(c, c.req.valid("param").provider);
    const body = c.req.valid("json");
    // The guard's check rides in the proof's first batch; the state's insert carries the proof, its batch the clearing.
    const { stillHolds, send } = await proveStepUp(c, body, "identity-link", { deferClear: true });
    const request = { redirectUri: body.redirectUri, codeChallenge: body.codeChallenge, linkUserId: c.var.user.id };
    const started = await startAuthorization(oauthDeps(c), provider, appOrigins(config), request, {
      send,
      condition: stillHolds,
    });
    if (!started.ok) await send([]); // the proof succeeded: its attempt is given back
    if (!started.ok)
      throw refusedRedirect(started.reason, started.reason === "redirect_uri" ? "redirectUri" : "codeChallenge");
    return ok(c, "Open authorizeUrl in the browser", { authorizeUrl: started.authorizeUrl });
  })

  .openapi(completeLinkRoute, async (c) => {
    const { db } = c.var;
    const { code, codeVerifier } = c.req.valid("json");
    // The guard's check rides in the claim's round trip; the claim and the link insert both carry it,
    // and the audit line rides in the insert's batch: two round trips.
    const holds = sessionHoldsInWrite(c);
    const identity = await claimLinkCode({ db }, code, codeVerifier, { userId: c.var.user.id, holds });
    if (!identity) throw invalidLoginCode();
    const { user } = c.var;
    const provider = providerOf(c, identity.provider);
    const linked = await linkIdentity(db, identity, user.id, holds, {
      action: "identity_link",
      actorId: user.id,
      targetId: user.id,
      ip: clientIp(c),
      details: { provider: provider.id, via: "session" },
    });
    if (linked.action === "refuse" && linked.code === "IDENTITY_IN_USE") {
      throw new AppError(409, "IDENTITY_IN_USE", "This identity is linked to another account");
    }
    // The session ended or the account was suspended since the claim.
    if (linked.action === "refuse") throw unauthorized("Session has ended; log in again");
    if (linked.action === "already_linked") return ok(c, "Identity already linked", { identity: linked.identity });
    sendIdentityLinkedNotice(c, user, provider.name);
    return ok(c, "Identity linked", { identity: linked.identity }, { status: 201 });
  })

  .openapi(unlinkIdentityRoute, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    // The guard's check rides in the proof's first batch; the unlink's batch carries the proof's clearing.
    const { stillHolds, send } = await proveStepUp(c, c.req.valid("json"), "identity-unlink", { deferClear: true });
    const { user } = c.var;
    const audit = {
      action: "identity_unlink" as const,
      actorId: user.id,
      targetId: user.id,
      ip: clientIp(c),
      details: { identityId: id },
    };
    const result = await unlinkIdentity(db, user.id, id, stillHolds, audit, send);
    if (result === "not_found") throw notFound("Identity");
    if (result === "last_method") {
      throw new AppError(409, "LAST_SIGN_IN_METHOD", "This is the account's only way to sign in; add another first");
    }
    if (result === "stale") throw reauthenticationRequired();
    return ok(c, "Identity unlinked");
  });
