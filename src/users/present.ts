import type { UserRow } from "../db/schema";

export type PublicUser = {
  id: string;
  username: string;
  email: string;
  role: UserRow["role"];
  status: UserRow["status"];
  emailVerified: boolean;
  createdAt: string;
  updatedAt: string;
};

/** The only shape a user leaves the server in: never the hash, lockout counters or tokens. */
export function toPublicUser(
  user: Pick<UserRow, keyof Omit<PublicUser, "emailVerified"> | "emailVerifiedAt">,
): PublicUser {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    role: user.role,
    status: user.status,
    emailVerified: user.emailVerifiedAt !== null,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}
