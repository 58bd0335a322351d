import { generateCodeVerifier, generateState } from "arctic";
import { and, eq, gt, lte, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { insertWhere } from "../../db/insert-where";
import { oauthStates } from "../../db/schema";
import { randomToken, sha256Hex } from "../tokens";
import { clock, type OAuthDeps } from "./deps";

export const STATE_TTL_SECONDS = 10 * 60;

export type PendingAuthorization = {
  state: string;
  codeVerifier: string;
  nonce: string | null;
};

export type StoredAuthorization = {
  provider: string;
  codeVerifier: string;
  nonce: string | null;
  redirectUri: string;
  codeChallenge: string;
  linkUserId: string | null;
};

/**
 * Creates the server-side half of a browser sign-in: a random `state` (kept
 * only as SHA-256), the PKCE verifier of our hop to the provider, an OIDC
 * nonce, and what the SPA asked for (its redirect and its own PKCE
 * challenge). Expired states are swept in the same batch.
 */
export async function saveAuthorization(
  deps: Pick<OAuthDeps, "db" | "now">,
  request: { provider: string; oidc: boolean; redirectUri: string; codeChallenge: string; linkUserId?: string },
  /** A link's step-up proof: how the batch goes to D1 (with the proof's statements) and what the insert must still see. */
  link: { send?: (statements: BatchItem<"sqlite">[]) => Promise<unknown[]>; condition?: SQL } = {},
): Promise<PendingAuthorization> {
  const now = clock(deps);
  const pending = {
    state: generateState(),
    codeVerifier: generateCodeVerifier(),
    nonce: request.oidc ? randomToken() : null,
  };
  const row = {
    stateHash: await sha256Hex(pending.state),
    provider: request.provider,
    codeVerifier: pending.codeVerifier,
    nonce: pending.nonce,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    linkUserId: request.linkUserId ?? null,
    expiresAt: new Date(now + STATE_TTL_SECONDS * 1000).toISOString(),
  };
  const send = link.send ?? ((statements) => deps.db.batch(statements as [BatchItem<"sqlite">]));
  await send([
    deps.db.delete(oauthStates).where(lte(oauthStates.expiresAt, new Date(now).toISOString())),
    link.condition
      ? insertWhere(deps.db, oauthStates, { ...row, createdAt: new Date(now).toISOString() }, link.condition)
      : deps.db.insert(oauthStates).values(row),
  ]);
  return pending;
}

/**
 * Claims a `state` for `provider` with one DELETE … RETURNING: of any number
 * of callbacks presenting it, at most one gets it; a state issued for
 * another provider, expired, or never issued returns null.
 */
export async function claimAuthorization(
  deps: Pick<OAuthDeps, "db" | "now">,
  provider: string,
  state: string,
): Promise<StoredAuthorization | null> {
  const [row] = await deps.db
    .delete(oauthStates)
    .where(
      and(
        eq(oauthStates.stateHash, await sha256Hex(state)),
        eq(oauthStates.provider, provider),
        gt(oauthStates.expiresAt, new Date(clock(deps)).toISOString()),
      ),
    )
    .returning({
      provider: oauthStates.provider,
      codeVerifier: oauthStates.codeVerifier,
      nonce: oauthStates.nonce,
      redirectUri: oauthStates.redirectUri,
      codeChallenge: oauthStates.codeChallenge,
      linkUserId: oauthStates.linkUserId,
    });
  return row ?? null;
}
