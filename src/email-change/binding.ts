/**
 * What a confirmation token for a pending change is bound to. Prefixed so a
 * registration token for the same address (bound to the bare address) can
 * never confirm a change, nor the reverse.
 */
export const pendingBinding = (pendingEmail: string) => `pending-email:${pendingEmail.toLowerCase()}`;

/** A pending change lapses with its token: both get the verification TTL. */
export const pendingExpiry = (ttlSeconds: number) => new Date(Date.now() + ttlSeconds * 1000).toISOString();
