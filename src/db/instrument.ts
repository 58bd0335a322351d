import { SessionGate } from "./gate";

/**
 * Counts and times what a request asks of D1, for the `Server-Timing` header
 * and the query budgets the tests enforce.
 *
 * - `roundTrips`: calls that go to D1 and wait for its answer. One
 *   `first()`/`all()`/`raw()`/`run()` is one; a whole `batch([...])` is one.
 * - `statements`: SQL statements executed (a batch of two counts two).
 * - `rowsRead`, `rowsWritten`: what D1 bills, summed from each result's `meta`
 *   (index entries a statement walks count as rows read, as D1 counts them).
 * - `durationMs`: wall-clock time during which at least one D1 call was in
 *   flight, so concurrent calls are not counted twice.
 */
export type D1Usage = {
  roundTrips: number;
  statements: number;
  rowsRead: number;
  rowsWritten: number;
  durationMs: number;
};

/** The part of a D1 database or session that Drizzle's D1 driver uses. */
export type D1Queryable = Pick<D1DatabaseSession, "prepare" | "batch">;

type Billed = { meta?: { rows_read?: number; rows_written?: number } };

class UsageMeter {
  readonly usage: D1Usage = { roundTrips: 0, statements: 0, rowsRead: 0, rowsWritten: 0, durationMs: 0 };
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

  bill(results: Billed[]) {
    for (const { meta } of results) {
      this.usage.rowsRead += meta?.rows_read ?? 0;
      this.usage.rowsWritten += meta?.rows_written ?? 0;
    }
  }
}

/**
 * A prepared statement that reports to the meter when it runs. It keeps the
 * real statement so `batch()` can hand D1 the objects D1 made.
 *
 * D1's `first()` and `raw()` drop the result's `meta`, so both are answered
 * from `all()`, which keeps it: one round trip either way. `raw()` rebuilds
 * each row from the row object's values, exactly as Drizzle reads `batch()`
 * rows, so the rule that already holds for batches holds here too: the
 * columns of one SELECT need distinct names (a second "id" would overwrite
 * the first).
 */
class MeteredStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    private readonly send: Dispatch,
    /** A SELECT cannot write, so a pending session check may ride along with it. */
    readonly readOnly: boolean,
  ) {}

  bind(...values: unknown[]) {
    return new MeteredStatement(this.inner.bind(...values), this.send, this.readOnly);
  }
  async first(column?: string) {
    const row = (await this.all()).results[0] as Record<string, unknown> | undefined;
    if (row === undefined) return null;
    if (column === undefined) return row;
    // D1's own first(column) refuses a column the row does not have.
    if (!(column in row)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
    return row[column];
  }
  async all() {
    return (await this.send([this.inner], this.readOnly, "all"))[0] as D1Result;
  }
  async run() {
    return (await this.send([this.inner], this.readOnly, "run"))[0] as D1Result;
  }
  async raw(options?: { columnNames?: boolean }) {
    const rows = (await this.all()).results as Record<string, unknown>[];
    const values = rows.map((row) => Object.values(row));
    const [first] = rows;
    return options?.columnNames && first ? [Object.keys(first), ...values] : values;
  }
}

type Dispatch = (
  statements: D1PreparedStatement[],
  readOnly: boolean,
  how: "all" | "run" | "batch",
) => Promise<D1Result[]>;

/** The D1 statement behind one of the wrapper's. */
export const unwrapStatement = (statement: D1PreparedStatement) =>
  statement instanceof MeteredStatement ? statement.inner : statement;
const isReadOnly = (statement: D1PreparedStatement) => statement instanceof MeteredStatement && statement.readOnly;
const SELECT = /^\s*select\b/i;

/**
 * Wraps a D1 database or session so every query it runs is counted and timed,
 * and gated by the request's session check (`gate`, see db/gate.ts): the
 * check rides in the same round trip as the first call that only reads (or
 * writes under a condition that repeats the check: `ridesWithWrites`), and
 * goes alone before any other first call that writes. Statements from the wrapper may
 * be batched; D1 receives its own objects.
 */
export function meterD1(target: D1Queryable): {
  db: D1Queryable;
  usage: D1Usage;
  gate: SessionGate;
  flush: () => Promise<void>;
} {
  const meter = new UsageMeter();
  const gate = new SessionGate();
  const batch = (statements: D1PreparedStatement[]) =>
    meter.measure(statements.length, async () => {
      const results = await target.batch(statements);
      meter.bill(results);
      return results;
    });
  const one = (statement: D1PreparedStatement, how: "all" | "run") =>
    meter.measure(1, async () => {
      const result = await statement[how]();
      meter.bill([result]);
      return result;
    });
  const send: Dispatch = async (statements, readOnly, how) => {
    const check = gate.claim();
    if (check && (readOnly || check.ridesWithWrites)) {
      const sent = batch([check.statement, ...statements]);
      await gate.settle(
        check,
        sent.then((results) => results[0] as D1Result),
      );
      return (await sent).slice(1);
    }
    if (check) await gate.settle(check, one(check.statement, "all"));
    else await gate.settled();
    return how === "batch" ? batch(statements) : [await one(statements[0] as D1PreparedStatement, how)];
  };
  const db = {
    prepare: (query: string) =>
      new MeteredStatement(target.prepare(query), send, SELECT.test(query)) as unknown as D1PreparedStatement,
    batch: <T>(statements: D1PreparedStatement[]) =>
      send(statements.map(unwrapStatement), statements.every(isReadOnly), "batch") as Promise<D1Result<T>[]>,
  };
  /** For a route that made no query (or before a decision that needs the row): runs a pending check now. */
  const flush = async () => {
    const check = gate.claim();
    if (check) await gate.settle(check, one(check.statement, "all"));
    else await gate.settled();
  };
  return { db, usage: meter.usage, gate, flush };
}

/**
 * `d1;dur=1.8;desc="1 query, 2 statements, 21 rows read, 0 rows written"`
 * (queries are round trips). `rows: false` leaves the row counts out; see
 * `dbProvider` for when.
 */
export function serverTiming(usage: D1Usage, { rows }: { rows: boolean }): string {
  const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const parts = [count(usage.roundTrips, "query", "queries"), count(usage.statements, "statement", "statements")];
  if (rows) parts.push(`${usage.rowsRead} rows read`, `${usage.rowsWritten} rows written`);
  return `d1;dur=${usage.durationMs.toFixed(1)};desc="${parts.join(", ")}"`;
}
