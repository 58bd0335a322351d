import { passkeyCredentials } from "../../db/schema";

/** A passkey as the API shows it: never its key or counter. */
export type Passkey = {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  backedUp: boolean;
  deviceType: "singleDevice" | "multiDevice";
};

/** The public columns of a passkey (never its key or counter), for selects and RETURNING. */
export const passkeyColumns = {
  id: passkeyCredentials.id,
  name: passkeyCredentials.name,
  createdAt: passkeyCredentials.createdAt,
  lastUsedAt: passkeyCredentials.lastUsedAt,
  backedUp: passkeyCredentials.backedUp,
  deviceType: passkeyCredentials.deviceType,
};
