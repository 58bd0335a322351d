/**
 * Structured logs: one JSON object a line. Callers pass only ids, paths and
 * counts; nothing here may ever receive a password, token or secret.
 */
export function logEvent(level: "info" | "warn" | "error", fields: Record<string, unknown>) {
  const line = JSON.stringify({ level, time: new Date().toISOString(), ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
