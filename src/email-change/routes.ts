import { ok } from "../http/envelope";
import { createRouter } from "../openapi/router";
import { cancelPendingEmailRoute } from "../users/me-routes.defs";
import { toPublicUser } from "../users/present";
import { cancelPendingEmail } from "./pending";

/** Requesting a change is part of PATCH /me and PUT/PATCH /user/:id; confirming it is POST /verify-email. */
export const emailChangeRoutes = createRouter().openapi(cancelPendingEmailRoute, async (c) =>
  ok(c, "Pending email change cancelled", { user: toPublicUser(await cancelPendingEmail(c)) }),
);
