import * as z from "zod";
import { lazySchema } from "../../openapi/lazy-schema";
import { passwordField } from "../../users/fields";
import { assertionBody } from "../passkeys/schemas";

const code = lazySchema(() =>
  z
    .string()
    .regex(/^\d{6}$/, "code must be the 6 digits of the authenticator app")
    .meta({ description: "The 6-digit code the authenticator app shows now.", example: "123456" }),
);
const recoveryCode = lazySchema(() =>
  z.string().min(1).max(64).meta({
    description: "One of the 10 recovery codes (case, spaces and dashes do not matter).",
    example: "abcd-efgh-jkmn",
  }),
);
const currentPassword = lazySchema(() =>
  passwordField.optional().meta({
    description: "Inline proof; not needed within `STEP_UP_TTL` seconds of POST /me/reauthenticate on this session.",
  }),
);

export const totpCode = code;

export const startTotpBody = lazySchema(() => z.strictObject({ currentPassword }));
export const confirmTotpBody = lazySchema(() => z.strictObject({ code }));
/** Turning MFA off and new recovery codes always need a code, plus a password or a recent re-authentication. */
export const codeProofBody = lazySchema(() => z.strictObject({ currentPassword, code }));
export const reauthenticateBody = lazySchema(() =>
  z.union([
    z.strictObject({
      password: passwordField,
      code: code.optional().meta({ description: "Required when MFA is on." }),
    }),
    z.strictObject({
      emailCode: z.string().min(1).max(32).meta({ description: "From POST /me/reauthenticate/email-code." }),
      code: code.optional().meta({ description: "Required when MFA is on." }),
    }),
    z.strictObject({
      passkey: assertionBody.meta({
        description: "A passkey of this account (options from POST /passkeys/login/options); two factors, no code.",
      }),
    }),
  ]),
);
export const adminMfaResetBody = lazySchema(() => z.strictObject({ currentPassword, code: code.optional() }));
/** Inline step-up proof, all optional: `{}` after a recent re-authentication (passkey management). */
export const stepUpBody = lazySchema(() => z.strictObject({ currentPassword, code: code.optional() }));

export const loginMfaBody = lazySchema(() =>
  z
    .strictObject({
      mfaToken: z.string().min(1).max(128).meta({ description: "From the `mfaRequired` answer of POST /login." }),
      code: code.optional(),
      recoveryCode: recoveryCode.optional(),
    })
    .refine((b) => (b.code === undefined) !== (b.recoveryCode === undefined), {
      message: "Send exactly one of code and recoveryCode",
      path: ["code"],
    }),
);
