import { emailField } from "../../users/fields";

/**
 * What a provider asserts about the person who signed in there. `subject` is
 * the provider's stable id (OIDC `sub`, GitHub's numeric user id), the only
 * thing an identity is found by; `email` is normalised like /register's (`providerEmail`), and counts for
 * linking only when `emailVerified` is true.
 */
export type ProviderIdentity = {
  provider: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
};

/**
 * A provider's email normalised exactly as /register stores one (trimmed,
 * lower-cased, a valid address of at most 254 characters), or null: an
 * address the API could not have registered can never match or create an
 * account.
 */
export function providerEmail(value: unknown): string | null {
  const parsed = emailField.safeParse(value);
  return parsed.success ? parsed.data : null;
}
