import { Hono } from "hono";
import { requireAuth } from "../auth/guard";
import type { AppEnv } from "../env";
import { ok } from "../http/envelope";
import { toPublicUser } from "../users/present";
import { cancelPendingEmail } from "./pending";

/** Requesting a change is part of PATCH /me and PUT/PATCH /user/:id; confirming it is POST /verify-email. */
export const emailChangeRoutes = new Hono<AppEnv>().delete("/me/pending-email", requireAuth, async (c) =>
  ok(c, "Pending email change cancelled", { user: toPublicUser(await cancelPendingEmail(c)) }),
);
