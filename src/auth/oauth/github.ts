import * as z from "zod";
import { lazySchema } from "../../openapi/lazy-schema";
import type { GithubProvider } from "./config";
import { fetchJson, ProviderError } from "./fetch-json";
import { type ProviderIdentity, providerEmail } from "./identity";

const userSchema = lazySchema(() => z.object({ id: z.number().int().positive() }));
const emailsSchema = lazySchema(() =>
  z.array(z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() })),
);

/**
 * Who signed in at GitHub: the numeric user id from `/user` is the subject
 * (logins can be renamed and reused); the email is the **primary** one from
 * `/user/emails`, verified only if GitHub says so. The public profile email
 * is never used: anyone can type any address there.
 */
export async function readGithubIdentity(provider: GithubProvider, accessToken: string): Promise<ProviderIdentity> {
  const headers = { authorization: `Bearer ${accessToken}`, "x-github-api-version": "2022-11-28" };
  const [user, emails] = await Promise.all([
    fetchJson(`${provider.apiUrl}/user`, headers),
    fetchJson(`${provider.apiUrl}/user/emails`, headers),
  ]);
  const parsedUser = userSchema.safeParse(user);
  const parsedEmails = emailsSchema.safeParse(emails);
  if (!parsedUser.success || !parsedEmails.success) throw new ProviderError("unexpected GitHub API answer");
  const primary = parsedEmails.data.find((e) => e.primary);
  const email = providerEmail(primary?.email);
  return {
    provider: provider.id,
    subject: String(parsedUser.data.id),
    email,
    emailVerified: email !== null && primary?.verified === true,
  };
}
