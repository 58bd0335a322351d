/**
 * What a provider asserts about the person who signed in there. `subject` is
 * the provider's stable id (OIDC `sub`, GitHub's numeric user id), the only
 * thing an identity is found by; `email` is lower-cased, and counts for
 * linking only when `emailVerified` is true.
 */
export type ProviderIdentity = {
  provider: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
};
