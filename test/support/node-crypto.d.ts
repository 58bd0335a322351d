/**
 * The one node:crypto call test/support/totp.ts makes. The test program is
 * typed for workerd, not Node, so this is declared here rather than pulling
 * every Node global into the type check of src/.
 */
declare module "node:crypto" {
  export function createHmac(
    algorithm: string,
    key: Uint8Array,
  ): { update(data: Uint8Array): { digest(): Uint8Array } };
}
