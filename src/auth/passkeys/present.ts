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

/** Only the public fields of a passkey row. */
export const presentPasskey = (row: Passkey): Passkey => ({
  id: row.id,
  name: row.name,
  createdAt: row.createdAt,
  lastUsedAt: row.lastUsedAt,
  backedUp: row.backedUp,
  deviceType: row.deviceType,
});

/** The columns `presentPasskey` reads, for selects. */
export const passkeyColumns = {
  id: passkeyCredentials.id,
  name: passkeyCredentials.name,
  createdAt: passkeyCredentials.createdAt,
  lastUsedAt: passkeyCredentials.lastUsedAt,
  backedUp: passkeyCredentials.backedUp,
  deviceType: passkeyCredentials.deviceType,
};
