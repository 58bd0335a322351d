import { Hono } from "hono";
import { requireAuth } from "../auth/guard";
import { provePassword } from "../auth/password-proof";
import type { AppEnv } from "../env";
import { ok } from "../http/envelope";
import { validate } from "../http/validate";
import { idParam } from "./fields";
import { listOwnSessions, revokeOwnSession } from "./own-sessions";
import { toPublicUser } from "./present";
import { deleteMeBody, patchMeBody } from "./schemas";
import { deleteUser, updateUser } from "./service";

/** The signed-in user's own account (GET /me lives with login in auth/routes.ts). */
export const meRoutes = new Hono<AppEnv>()
  .patch("/me", requireAuth, validate("json", patchMeBody), async (c) => {
    const user = await updateUser(c, c.var.user, c.req.valid("json"));
    return ok(c, "Profile updated", { user: toPublicUser(user) });
  })

  /**
   * Deleting the account needs the password, not just a token: a stolen
   * access token must not be enough to destroy the account. Attempts are
   * rate-limited per user so the endpoint is no password oracle.
   */
  .delete("/me", requireAuth, validate("json", deleteMeBody), async (c) => {
    const { user } = c.var;
    const proof = await provePassword(c, user, c.req.valid("json").password, "delete-me");
    await deleteUser(c, user, proof.stillHolds);
    return ok(c, "Account deleted");
  })

  .get("/me/sessions", requireAuth, async (c) =>
    ok(c, "Sessions", await listOwnSessions(c.var.db, c.var.user.id, c.var.sessionId)),
  )

  .delete("/me/sessions/:id", requireAuth, validate("param", idParam), async (c) => {
    await revokeOwnSession(c, c.req.valid("param").id);
    return ok(c, "Session revoked");
  });
