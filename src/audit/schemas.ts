import * as z from "zod";
import { pageQuery } from "../http/pagination";
import { lazySchema } from "../openapi/lazy-schema";
import { idField } from "../users/fields";

export const auditListQuery = lazySchema(() =>
  pageQuery.extend({
    /** Events where the user acted or was acted upon. */
    userId: idField("userId must be a user id").optional(),
    // A shape check rather than a fixed list, so a new kind of event needs no change here.
    action: z
      .string()
      .regex(/^[a-z_]{1,64}$/, "action must be an event name such as role_change")
      .optional(),
  }),
);
