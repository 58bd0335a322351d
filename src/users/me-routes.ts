import { ok } from "../http/envelope";
import { createRouter } from "../openapi/router";
import { deleteMeRoute, listSessionsRoute, patchMeRoute, revokeSessionRoute } from "./me-routes.defs";
import { listOwnSessions, revokeOwnSession } from "./own-sessions";
import { toPublicUser } from "./present";
import { deleteOwnAccount, updateUser } from "./service";

/** The signed-in user's own account (GET /me lives with login in auth/routes.ts). */
export const meRoutes = createRouter()
  // A new email needs `currentPassword` and stays pending until confirmed (see updateUser).
  .openapi(patchMeRoute, async (c) => {
    const user = await updateUser(c, c.var.user, c.req.valid("json"));
    return ok(c, "Profile updated", { user: toPublicUser(user) });
  })

  /**
   * Deleting the account needs the password, not just a token: a stolen
   * access token must not be enough to destroy the account. Attempts are
   * rate-limited per user so the endpoint is no password oracle.
   */
  .openapi(deleteMeRoute, async (c) => {
    await deleteOwnAccount(c, c.req.valid("json"));
    return ok(c, "Account deleted");
  })

  .openapi(listSessionsRoute, async (c) =>
    ok(c, "Sessions", await listOwnSessions(c.var.db, c.var.config, c.var.user.id, c.var.sessionId)),
  )

  .openapi(revokeSessionRoute, async (c) => {
    await revokeOwnSession(c, c.req.valid("param").id);
    return ok(c, "Session revoked");
  });
