import { OAuth2Client } from "arctic";
import type { Provider } from "./config";
import { discover } from "./discovery";

/** GitHub grants these to read the profile and the verified email addresses; nothing more. */
export const GITHUB_SCOPES = ["read:user", "user:email"];

/** Arctic's generic OAuth 2.0 client for a provider, redirecting to this API's callback for it. */
export const oauthClient = (provider: Provider, callbackUrl: string) =>
  new OAuth2Client(provider.clientId, provider.clientSecret, callbackUrl);

/** The authorization and token endpoints (OIDC: discovery plus overrides; GitHub: preset plus overrides). */
export async function endpointsOf(provider: Provider, now: number) {
  if (provider.type === "github") return { authorizationUrl: provider.authorizationUrl, tokenUrl: provider.tokenUrl };
  return discover(provider, now);
}
