import type { Selectable } from "kysely";
import type { SessionsTable } from "./schema.js";

// Listed, not `*`: rows come back as arrays in this order, which skips building a keyed object
// per row in the driver (half the cost of the lookup).
// biome-ignore format: a compact list of the table's columns
const SESSION_COLUMNS = [
  "id", "secret_hash", "user_id", "status", "end_reason", "created_at", "last_seen_at", "expires_at", "ended_at",
  "ip", "last_ip", "user_agent", "browser_name", "browser_version", "os_name", "os_version", "device_type",
  "country", "region", "city", "device_id", "remember_me", "data", "authenticated_at", "auth_factor",
  "proof_used_at", "dbsc_key", "dbsc_alg", "dbsc_cookie_hash", "dbsc_cookie_expires_at", "dbsc_bound_at", "name",
  "device_model",
] as const satisfies ReadonlyArray<keyof SessionsTable>;
/** The select list of the per-request lookup, in the order {@link rowOf} reads. */
export const FIND_SESSION_COLUMNS = SESSION_COLUMNS.map((c) => `"${c}"`).join(", ");

// biome-ignore format: one line per group of columns, in SESSION_COLUMNS order
export function rowOf(v: unknown[]): Selectable<SessionsTable> {
  // A literal keeps one object shape for every row.
  return {
    id: v[0], secret_hash: v[1], user_id: v[2], status: v[3], end_reason: v[4], created_at: v[5], last_seen_at: v[6],
    expires_at: v[7], ended_at: v[8], ip: v[9], last_ip: v[10], user_agent: v[11], browser_name: v[12],
    browser_version: v[13], os_name: v[14], os_version: v[15], device_type: v[16], country: v[17], region: v[18],
    city: v[19], device_id: v[20], remember_me: v[21], data: v[22], authenticated_at: v[23], auth_factor: v[24],
    proof_used_at: v[25], dbsc_key: v[26], dbsc_alg: v[27], dbsc_cookie_hash: v[28], dbsc_cookie_expires_at: v[29],
    dbsc_bound_at: v[30], name: v[31], device_model: v[32],
  } as Selectable<SessionsTable>;
}
