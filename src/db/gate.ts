/**
 * The session check of a signed-in request, held back so it can travel to D1
 * in the same round trip as the route's first read (see `meterD1`).
 *
 * The guard arms it after the JWT verifies. The first D1 call of the request
 * claims it: a call that only reads sends `[check, ...its statements]` as one
 * `batch`; a call that writes, or a route that makes no query (`flush`),
 * sends the check alone first. Either way `accept` sees the check's result
 * before any result of the route is handed back, and when it throws (ended
 * session, suspended account, ...) every call of the request throws the same
 * error, so the route's answer is discarded.
 */
export type SessionCheck = {
  /** The guard's SELECT, bound, as D1 would run it. */
  statement: D1PreparedStatement;
  /**
   * Set only by a guard whose route's every write carries the same check as
   * a SQL condition (guard.ts `requireAuthInWrite`): the check may then ride
   * in the batch of a first call that writes too, since a failed check means
   * the write matched nothing in the same transaction.
   */
  ridesWithWrites?: boolean;
  /** Validates the check's result; throws the guard's 401/403 when it does not hold. */
  accept: (result: D1Result) => void;
};

export class SessionGate {
  #pending: SessionCheck | undefined;
  #settled: Promise<void> = Promise.resolve();
  /** True once a check was accepted: the caller is signed in for real. */
  passed = false;

  arm(check: SessionCheck) {
    this.#pending = check;
    this.passed = false;
  }

  /**
   * Adds a rule the caller's row must meet to the pending check, so a read
   * decided by role still travels with the route's first read: `rule` runs
   * right after the check accepted the row (and set `c.var.user`), and when it
   * throws, the check fails exactly as a dead session does, so the route's
   * answer is discarded. False when no check is pending (already sent): the
   * caller must then decide on the loaded row itself.
   */
  demand(rule: () => void): boolean {
    const check = this.#pending;
    if (!check) return false;
    this.#pending = {
      ...check,
      accept: (result) => {
        check.accept(result);
        rule();
      },
    };
    return true;
  }

  /** Takes the pending check for the caller to send; it must hand the result to `settle`. */
  claim(): SessionCheck | undefined {
    const check = this.#pending;
    this.#pending = undefined;
    return check;
  }

  settle(check: SessionCheck, result: Promise<D1Result>): Promise<void> {
    this.#settled = result.then((r) => {
      check.accept(r);
      this.passed = true;
    });
    return this.#settled;
  }

  /** Resolves when the claimed check (if any) was accepted; rejects with its error otherwise. */
  settled(): Promise<void> {
    return this.#settled;
  }
}
