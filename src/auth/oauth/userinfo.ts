import * as z from "zod";
import { lazySchema } from "../../openapi/lazy-schema";
import { fetchJson } from "./fetch-json";
import { type ProviderIdentity, providerEmail } from "./identity";

const userinfoSchema = lazySchema(() =>
  z.object({
    sub: z.string(),
    email: z.string().max(254).optional(),
    email_verified: z.union([z.boolean(), z.string()]).optional(),
  }),
);

/**
 * Fills in the email of an identity whose ID token carried none, from the
 * provider's userinfo endpoint (some providers put it only there). The
 * answer counts only when its `sub` is the ID token's (OpenID Connect Core
 * 5.3.2): otherwise it describes someone else and is ignored.
 */
export async function withUserinfoEmail(
  identity: ProviderIdentity,
  userinfoUrl: string | undefined,
  accessToken: string,
): Promise<ProviderIdentity> {
  if (identity.email !== null || !userinfoUrl) return identity;
  const parsed = userinfoSchema.safeParse(await fetchJson(userinfoUrl, { authorization: `Bearer ${accessToken}` }));
  if (!parsed.success || parsed.data.sub !== identity.subject) return identity;
  const email = providerEmail(parsed.data.email);
  if (!email) return identity;
  const verified = parsed.data.email_verified === true || parsed.data.email_verified === "true";
  return { ...identity, email, emailVerified: verified };
}
