import type { Context } from "hono";
import { sessionUser } from "../auth/guard";
import { assertCan, assertOwnerOr, decideOnSessionRow } from "../auth/permissions";
import type { AppEnv } from "../env";
import { ok, pageMeta } from "../http/envelope";
import { createRouter } from "../openapi/router";
import { toPublicUser } from "./present";
import { deleteUserRoute, getUserRoute, listUsersRoute, patchUserRoute, putUserRoute } from "./routes.defs";
import { deleteOwnAccount, deleteUser, findUser, listUsers, updateUser } from "./service";

/**
 * The guard loads the caller anyway: acting on one's own id costs no second
 * query. Another's row is read with the guard's check riding along (the
 * routes that change users use `requireAuthInWrite`, and this read is their
 * first D1 call): one round trip, then the write.
 */
const userById = (c: Context<AppEnv>, id: string) => (id === c.var.user.id ? sessionUser(c) : findUser(c.var.db, id));

/**
 * User management by id. Permission is decided before the user is looked up:
 * a plain user asking about any id but their own gets 403 whether or not it
 * exists, so these routes cannot be used to probe for ids. Acting on one's
 * own id follows the /me rules exactly: a new email needs `currentPassword`
 * (updateUser), deletion needs the password (deleteOwnAccount).
 */
export const userRoutes = createRouter()
  .openapi(listUsersRoute, async (c) => {
    const { page, limit, cursor, ...filter } = c.req.valid("query");
    const list = await listUsers(c.var.db, { page, limit, cursor }, filter);
    const meta = pageMeta(list.page, limit, list.total, list.nextCursor);
    return ok(c, "Users", list.items.map(toPublicUser), { meta });
  })

  .openapi(getUserRoute, async (c) => {
    const { id } = c.req.valid("param");
    // Own id: the guard's row is the answer. Another's: a decision by role, which rides with the read (one round trip).
    if (id === c.var.user.id) return ok(c, "User", { user: toPublicUser(await sessionUser(c)) });
    await decideOnSessionRow(c, (user) => assertOwnerOr(user, id, "users:read-any"));
    return ok(c, "User", { user: toPublicUser(await findUser(c.var.db, id)) });
  })

  .openapi(putUserRoute, async (c) => {
    const { id } = c.req.valid("param");
    await decideOnSessionRow(c, (user) => assertOwnerOr(user, id, "users:manage"));
    const user = await updateUser(c, await userById(c, id), c.req.valid("json"));
    return ok(c, "User updated", { user: toPublicUser(user) });
  })

  .openapi(patchUserRoute, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    await decideOnSessionRow(c, (user) => {
      assertOwnerOr(user, id, "users:manage");
      // Nobody changes their own role or status unless they could change anyone's.
      if (body.role !== undefined || body.status !== undefined) assertCan(user.role, "users:manage");
    });
    const user = await updateUser(c, await userById(c, id), body);
    return ok(c, "User updated", { user: toPublicUser(user) });
  })

  .openapi(deleteUserRoute, async (c) => {
    const { id } = c.req.valid("param");
    await decideOnSessionRow(c, (user) => assertOwnerOr(user, id, "users:manage"));
    // On one's own id this is DELETE /me, proof and rate limit included: an alias is never weaker.
    if (id === c.var.user.id) await deleteOwnAccount(c, c.req.valid("json"));
    else await deleteUser(c, await findUser(c.var.db, id));
    return ok(c, "User deleted");
  });
