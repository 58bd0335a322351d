/** Puts Scalar's pinned standalone bundle into public/docs/ for wrangler's [assets]; a no-op when it is there. */
export function copyDocsAssets(options?: { strict?: boolean }): void;
