import { AppError } from "../http/errors";

const messageOf = (err: unknown): string => {
  if (!(err instanceof Error)) return String(err);
  return `${err.message} ${err.cause instanceof Error ? err.cause.message : ""}`;
};

export const isUniqueViolation = (err: unknown) => messageOf(err).includes("UNIQUE constraint failed");

/** `409 CONFLICT` naming the taken field. */
export const takenConflict = (field: "email" | "username") =>
  new AppError(409, "CONFLICT", `That ${field} is already taken`, [
    { path: field, message: `${field} is already taken` },
  ]);

/** Turns D1's unique-index failure into `409 CONFLICT` naming the field, without echoing SQL. */
export function uniqueConflict(err: unknown): AppError {
  return takenConflict(messageOf(err).includes("users.email") ? "email" : "username");
}
