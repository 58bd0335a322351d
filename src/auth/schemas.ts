import * as z from "zod";
import { emailField, passwordField, usernameField } from "../users/fields";

export const registerBody = z.strictObject({ username: usernameField, email: emailField, password: passwordField });

export const loginBody = z.strictObject({ email: emailField, password: passwordField });

export const refreshBody = z.strictObject({ refreshToken: z.string().min(1).max(256) });

export const logoutBody = z.strictObject({
  refreshToken: z.string().min(1).max(256).optional(),
  all: z.boolean().optional(),
});
