import * as z from "zod";
import { pageQuery } from "../http/pagination";

export const auditListQuery = pageQuery.extend({
  /** Events where the user acted or was acted upon. */
  userId: z.uuid({ error: "userId must be a user id" }).toLowerCase().optional(),
  // A shape check rather than a fixed list, so a new kind of event needs no change here.
  action: z
    .string()
    .regex(/^[a-z_]{1,64}$/, "action must be an event name such as role_change")
    .optional(),
});
