import type { DbCounters } from "./protocol.js";

/** Statements this server process sent to its database, counted by the wrappers in instrument.ts. */
export const counters: DbCounters = { statements: 0, writeStatements: 0, rowsWritten: 0 };

/**
 * Statements by their SQL text (first 60 characters) and garbage-collection time, kept only for
 * idle.ts (which needs to tell a `PRAGMA data_version` from a lookup from a last-seen write).
 */
export const detail = { bySql: {} as Record<string, number>, gcMs: 0, gcCount: 0, requests: 0 };
