import type { ProviderIdentity } from "./identity";

export type SignInDecision =
  /** The identity is already linked: sign in to its account. */
  | { action: "sign_in"; userId: string }
  /** Both sides proved the same email: link to the existing account, then sign in. */
  | { action: "link"; userId: string }
  /** Nobody has the email, and the provider verified it: create an account (verified). */
  | { action: "create" }
  /** Someone has the email, and one side did not prove it. */
  | { action: "refuse"; code: "ACCOUNT_EXISTS" }
  /** No identity yet and no provider-verified email to make an account with. */
  | { action: "refuse"; code: "EMAIL_REQUIRED" };

/**
 * The sign-in rules of issue 13, as one pure function. An identity already
 * linked signs in to its account, whatever the emails say now. A new
 * identity whose email belongs to an account is linked **only** when the
 * provider asserts the email is verified and the account's email is verified
 * too; otherwise `ACCOUNT_EXISTS`, and the owner links it from a signed-in
 * session. Both halves matter: an unverified provider email would let anyone
 * claim any address, and an unverified account may have been pre-registered
 * by an attacker waiting for the real owner to link to it
 * (GHSA-g38m-r43w-p2q7).
 */
export function decideSignIn(
  identity: ProviderIdentity,
  linkedTo: { userId: string } | null,
  accountWithEmail: { id: string; emailVerifiedAt: string | null } | null,
): SignInDecision {
  if (linkedTo) return { action: "sign_in", userId: linkedTo.userId };
  // No account is made on an email the provider did not verify: anyone could claim the owner's address
  // there, and the owner's later reset or "confirm your email" click would then adopt an account holding
  // the claimant's identity (docs/API.md, Decisions: "No account from an unverified provider email").
  if (!accountWithEmail)
    return identity.email && identity.emailVerified
      ? { action: "create" }
      : { action: "refuse", code: "EMAIL_REQUIRED" };
  if (identity.emailVerified && accountWithEmail.emailVerifiedAt !== null)
    return { action: "link", userId: accountWithEmail.id };
  return { action: "refuse", code: "ACCOUNT_EXISTS" };
}

export type LinkDecision =
  | { action: "link" }
  | { action: "already_linked" }
  | { action: "refuse"; code: "IDENTITY_IN_USE" };

/**
 * Linking from a signed-in session (the owner proved the account, step-up
 * done by the route): the provider's email does not matter, but an identity
 * already linked to someone else is never moved, or a stolen provider
 * session could pull another person's sign-in method into the thief's account.
 */
export function decideLink(linkedTo: { userId: string } | null, userId: string): LinkDecision {
  if (!linkedTo) return { action: "link" };
  return linkedTo.userId === userId ? { action: "already_linked" } : { action: "refuse", code: "IDENTITY_IN_USE" };
}
