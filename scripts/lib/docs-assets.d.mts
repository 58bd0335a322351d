/** Copies Scalar's standalone bundle into public/ for wrangler's [assets]; cheap when it is up to date. */
export function copyDocsAssets(): void;
