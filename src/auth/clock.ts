/** The time services read: `now` when a test passes one, else the clock. */
export const clock = (deps: { now?: () => number }) => deps.now?.() ?? Date.now();
