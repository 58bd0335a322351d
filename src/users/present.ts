import type { UserRow } from "../db/schema";

export type PublicUser = {
  id: string;
  username: string;
  email: string;
  /** A requested new address awaiting confirmation (null when none, or when it has lapsed). */
  pendingEmail: string | null;
  role: UserRow["role"];
  status: UserRow["status"];
  emailVerified: boolean;
  /** TOTP is confirmed on the account. */
  mfaEnabled: boolean;
  createdAt: string;
  updatedAt: string;
};

type Presentable = Pick<
  UserRow,
  keyof Omit<PublicUser, "emailVerified" | "pendingEmail" | "mfaEnabled"> | "emailVerifiedAt"
> &
  Partial<Pick<UserRow, "pendingEmail" | "pendingEmailExpiresAt" | "mfaEnabledAt">>;

/** A pending change counts only until its verification token expires. */
const livePendingEmail = (user: Presentable) =>
  user.pendingEmail && user.pendingEmailExpiresAt && user.pendingEmailExpiresAt > new Date().toISOString()
    ? user.pendingEmail
    : null;

/** The only shape a user leaves the server in: never the hash, lockout counters or tokens. */
export function toPublicUser(user: Presentable): PublicUser {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    pendingEmail: livePendingEmail(user),
    role: user.role,
    status: user.status,
    emailVerified: user.emailVerifiedAt !== null,
    mfaEnabled: user.mfaEnabledAt != null,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}
