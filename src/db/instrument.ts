/**
 * Counts and times what a request asks of D1, for the `Server-Timing` header
 * and the query budgets the tests enforce.
 *
 * - `roundTrips`: calls that go to D1 and wait for its answer. One
 *   `first()`/`all()`/`raw()`/`run()` is one; a whole `batch([...])` is one.
 * - `statements`: SQL statements executed (a batch of two counts two).
 * - `durationMs`: wall-clock time during which at least one D1 call was in
 *   flight, so concurrent calls are not counted twice.
 */
export type D1Usage = { roundTrips: number; statements: number; durationMs: number };

/** The part of a D1 database or session that Drizzle's D1 driver uses. */
export type D1Queryable = Pick<D1DatabaseSession, "prepare" | "batch">;

class UsageMeter {
  readonly usage: D1Usage = { roundTrips: 0, statements: 0, durationMs: 0 };
  #inFlight = 0;
  #since = 0;

  async measure<T>(statements: number, call: () => Promise<T>): Promise<T> {
    this.usage.roundTrips += 1;
    this.usage.statements += statements;
    if (this.#inFlight++ === 0) this.#since = performance.now();
    try {
      return await call();
    } finally {
      if (--this.#inFlight === 0) this.usage.durationMs += performance.now() - this.#since;
    }
  }
}

/**
 * A prepared statement that reports to the meter when it runs. It keeps the
 * real statement so `batch()` can hand D1 the objects D1 made.
 */
class MeteredStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    private readonly meter: UsageMeter,
  ) {}

  bind(...values: unknown[]) {
    return new MeteredStatement(this.inner.bind(...values), this.meter);
  }
  first(column?: string) {
    return this.meter.measure(1, () => (column === undefined ? this.inner.first() : this.inner.first(column)));
  }
  all() {
    return this.meter.measure(1, () => this.inner.all());
  }
  run() {
    return this.meter.measure(1, () => this.inner.run());
  }
  raw(options?: { columnNames?: boolean }) {
    // The overloads of raw() differ only in their result type.
    return this.meter.measure(1, () => this.inner.raw(options as { columnNames: true }));
  }
}

const unwrap = (statement: D1PreparedStatement) =>
  statement instanceof MeteredStatement ? statement.inner : statement;

/**
 * Wraps a D1 database or session so every query it runs is counted and timed.
 * Statements from the wrapper may be batched; D1 receives its own objects.
 */
export function meterD1(target: D1Queryable): { db: D1Queryable; usage: D1Usage } {
  const meter = new UsageMeter();
  const db = {
    prepare: (query: string) => new MeteredStatement(target.prepare(query), meter) as unknown as D1PreparedStatement,
    batch: <T>(statements: D1PreparedStatement[]) =>
      meter.measure(statements.length, () => target.batch<T>(statements.map(unwrap))),
  };
  return { db, usage: meter.usage };
}

/** `d1;dur=1.8;desc="1 query, 2 statements"` (queries are round trips). */
export function serverTiming({ roundTrips, statements, durationMs }: D1Usage): string {
  const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const desc = `${count(roundTrips, "query", "queries")}, ${count(statements, "statement", "statements")}`;
  return `d1;dur=${durationMs.toFixed(1)};desc="${desc}"`;
}
