import * as z from "zod";
import { lazySchema } from "../../openapi/lazy-schema";
import { emailField } from "../../users/fields";

const base64url = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+$/, "must be base64url");

/**
 * RegistrationResponseJSON (WebAuthn Level 3 `PublicKeyCredential.toJSON()` after create()). Other
 * members (`clientExtensionResults`, `authenticatorAttachment`) are accepted and dropped: nothing reads them.
 */
export const registrationResponseSchema = lazySchema(() =>
  z.object({
    id: base64url(1400),
    rawId: base64url(1400),
    type: z.literal("public-key"),
    response: z.object({
      clientDataJSON: base64url(4096),
      attestationObject: base64url(16384),
      transports: z.array(z.string().max(32)).max(8).optional(),
    }),
  }),
);
export type RegistrationResponseJSON = z.infer<typeof registrationResponseSchema>;

/** AuthenticationResponseJSON (after get()). */
export const authenticationResponseSchema = lazySchema(() =>
  z.object({
    id: base64url(1400),
    rawId: base64url(1400),
    type: z.literal("public-key"),
    response: z.object({
      clientDataJSON: base64url(4096),
      authenticatorData: base64url(4096),
      signature: base64url(1024),
      userHandle: base64url(128).optional(),
    }),
  }),
);
export type AuthenticationResponseJSON = z.infer<typeof authenticationResponseSchema>;

export const passkeyNameSchema = lazySchema(() => z.string().trim().min(1).max(64));

/** POST /me/passkeys. */
export const addPasskeyBody = lazySchema(() =>
  z.strictObject({
    response: registrationResponseSchema.meta({ description: "`PublicKeyCredential.toJSON()`" }),
    name: passkeyNameSchema.optional().meta({ description: 'Shown in GET /me/passkeys; default "Passkey".' }),
  }),
);

/** PATCH /me/passkeys/{id}. */
export const renamePasskeyBody = lazySchema(() => z.strictObject({ name: passkeyNameSchema }));

/** POST /passkeys/login/options. */
export const loginOptionsBody = lazySchema(() =>
  z.strictObject({
    email: emailField.optional().meta({ description: "Omit for discoverable passkeys." }),
  }),
);

/** A login assertion answering the challenge `challengeId` named (POST /passkeys/login, step-up). */
export const assertionBody = lazySchema(() =>
  z.strictObject({
    challengeId: z.string().min(1).max(64).meta({ description: "From POST /passkeys/login/options." }),
    response: authenticationResponseSchema.meta({ description: "`PublicKeyCredential.toJSON()`" }),
  }),
);

/** A passkey's id in a path: a credential id, base64url. */
export const passkeyIdParam = lazySchema(() => z.strictObject({ id: base64url(1400) }));
