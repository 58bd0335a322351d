import { sql } from "drizzle-orm";
import { auditInsert, auditInsertWhere } from "../../audit/audit";
import { clientIp, clientNetwork } from "../../http/client";
import { ok } from "../../http/envelope";
import { AppError, notFound, tooManyRequests, unauthorized } from "../../http/errors";
import { enforceRateLimit } from "../../http/rate-limit";
import { createRouter } from "../../openapi/router";
import { sessionHoldsInWrite } from "../guard";
import { type Attempt, clearFailures, failureScope, reserveAttempt } from "../lockout/failures";
import { completeSignIn } from "../sign-in";
import { proveStepUp, reauthenticationRequired } from "../step-up/proof";
import { passkeyDepsOf, sendPasskeyNotice } from "./context";
import { checkSignature, claimAssertion, counterMove, loginOptions } from "./login";
import { listPasskeys, removePasskey, renamePasskey } from "./manage";
import { registrationOptions, verifyRegistration } from "./registration";
import {
  addPasskeyRoute,
  listPasskeysRoute,
  passkeyLoginOptionsRoute,
  passkeyLoginRoute,
  passkeyOptionsRoute,
  removePasskeyRoute,
  renamePasskeyRoute,
} from "./routes.defs";
import { invalidPasskey, passkeyStillHolds } from "./step-up";

const invalidRegistration = () => new AppError(400, "INVALID_PASSKEY", "The passkey was refused; ask for new options");

/** Passkeys: registration and management on /me/passkeys, sign-in on /passkeys/login. Services: this folder. */
export const passkeyRoutes = createRouter()
  .openapi(passkeyOptionsRoute, async (c) => {
    const deps = passkeyDepsOf(c);
    // The guard's check rides in the proof's first batch; the options' batch carries the proof's clearing.
    const { stillHolds, send } = await proveStepUp(c, c.req.valid("json"), "passkeys", { deferClear: true });
    const caller = { sessionId: c.var.sessionId, tokenId: c.var.tokenId };
    const options = await registrationOptions(deps, c.var.user, caller, { condition: stillHolds, send });
    return ok(c, "Passkey options", { options });
  })

  .openapi(addPasskeyRoute, async (c) => {
    const deps = passkeyDepsOf(c);
    const { db } = c.var;
    const userId = c.var.user.id;
    const { response, name } = c.req.valid("json");
    // The challenge is bound to this account, session and access token, and was issued only after step-up
    // (POST /me/passkeys/options). Its claim carries the session condition, so the guard's check rides in the
    // claim's round trip.
    const caller = { sessionId: c.var.sessionId, tokenId: c.var.tokenId };
    const result = await verifyRegistration(deps, userId, caller, response, name, {
      holds: sessionHoldsInWrite(c),
      also: (holds) =>
        auditInsertWhere(
          db,
          {
            action: "passkey_add",
            actorId: userId,
            targetId: userId,
            ip: clientIp(c),
            details: { passkeyId: response.id },
          },
          holds,
        ),
    });
    if (!result.ok && result.reason === "session_ended") throw unauthorized("Session has ended; log in again");
    if (!result.ok) throw invalidRegistration();
    sendPasskeyNotice(c, c.var.user, "added");
    return ok(c, "Passkey added", { passkey: result.passkey }, { status: 201 });
  })

  // Only the token's user id is read before the query, so the session check rides in its batch (one round trip).
  .openapi(listPasskeysRoute, async (c) => ok(c, "Passkeys", { passkeys: await listPasskeys(c.var.db, c.var.user.id) }))

  .openapi(renamePasskeyRoute, async (c) => {
    const { id } = c.req.valid("param");
    const passkey = await renamePasskey(c.var.db, c.var.user.id, id, c.req.valid("json").name);
    if (!passkey) throw notFound("Passkey");
    return ok(c, "Passkey renamed", { passkey });
  })

  .openapi(removePasskeyRoute, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    // The guard's check rides in the proof's first batch; the removal's batch carries the proof's clearing.
    const { stillHolds, send } = await proveStepUp(c, c.req.valid("json"), "passkeys", { deferClear: true });
    const { user } = c.var;
    const audit = {
      action: "passkey_remove" as const,
      actorId: user.id,
      targetId: user.id,
      ip: clientIp(c),
      details: { passkeyId: id },
    };
    const removed = await removePasskey(db, user.id, id, { condition: stillHolds, audit, send });
    if (!removed.ok && removed.reason === "not_found") throw notFound("Passkey");
    if (!removed.ok && removed.reason === "last_sign_in_method")
      throw new AppError(
        409,
        "LAST_SIGN_IN_METHOD",
        "This passkey is the account's last way to sign in; add another first",
      );
    if (!removed.ok) throw reauthenticationRequired();
    sendPasskeyNotice(c, user, "removed");
    return ok(c, "Passkey removed");
  })

  .openapi(passkeyLoginOptionsRoute, async (c) => {
    const { email } = c.req.valid("json");
    // Per IP (limitPublicEndpointsByIp, before the body is read) and per email from that network, so
    // strangers asking for an address's options cannot use up its owner's budget.
    if (email !== undefined) await enforceRateLimit(c, "passkey-options", { email, network: clientNetwork(c) });
    return ok(c, "Passkey options", await loginOptions(passkeyDepsOf(c), email));
  })

  /**
   * The challenge is claimed and the credential looked up in one batch; the
   * attempt is then counted toward the lockout of the account the credential
   * belongs to before the signature is checked (a locked network is refused
   * even with a good passkey, as with a good password), and given back on
   * success. The door does the rest, with two factors: no TOTP step.
   */
  .openapi(passkeyLoginRoute, async (c) => {
    const deps = passkeyDepsOf(c);
    const { db } = c.var;
    const { challengeId, response } = c.req.valid("json");
    const ip = clientIp(c);
    const network = clientNetwork(c);
    const found = await claimAssertion(deps, challengeId, response);
    let attempt: Attempt | undefined;
    // Counted whenever the assertion names a known passkey, a replay of a spent challenge included.
    if (found.stored) {
      const { email } = found.stored;
      await enforceRateLimit(c, "passkey-login", { email, network });
      attempt = await reserveAttempt(db, { email, network });
      if (attempt.lockedForSeconds > 0) throw tooManyRequests(attempt.lockedForSeconds, "ACCOUNT_LOCKED");
    }
    const result = await checkSignature(deps, found, response);
    const failure = (reason: string, ids: { userId?: string; passkeyId?: string }) => ({
      action: "login_failure" as const,
      targetId: ids.userId,
      ip,
      details: { via: "passkey", reason, ...(ids.passkeyId && { passkeyId: ids.passkeyId }) },
    });
    if (!result.ok) {
      // The reason stays in the audit trail (a counter regression is a cloned authenticator); the client hears 401.
      await auditInsert(db, failure(result.reason, result));
      throw invalidPasskey();
    }
    const user = attempt?.user;
    // The account's email changed between the lookup and the attempt: nothing proven about this row.
    if (!user || user.id !== result.userId) throw invalidPasskey();
    // The counter is stored at the end of the door's batch; every write before it carries "still the counter read".
    const moved = counterMove(deps, result);
    const stillHolds = sql`${passkeyStillHolds(user.id, result.passkeyId)} and ${moved.holds}`;
    const details = { via: "passkey", passkeyId: result.passkeyId };
    const answer = await completeSignIn(c, {
      user,
      factors: ["hwk", "uv"],
      stillHolds,
      before: [
        clearFailures(db, user.email, [failureScope.account, failureScope.network(network)], stillHolds),
        auditInsertWhere(db, { action: "passkey_login", actorId: user.id, targetId: user.id, ip, details }, stillHolds),
      ],
      details,
      claim: {
        statements: [
          // A parallel use of the same counter got there first: a cloned authenticator, audited as before.
          auditInsertWhere(db, failure("counter_regression", result), moved.raced),
          moved.statement,
        ],
        taken: ([, stored]) => (stored as unknown[]).length === 1,
        refused: invalidPasskey,
      },
    });
    if ("mfaRequired" in answer) throw invalidPasskey(); // unreachable: two factors were proven
    return ok(c, "Login successful", answer);
  });
