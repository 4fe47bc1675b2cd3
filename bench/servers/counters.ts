import type { DbCounters } from "./protocol.js";

/** Statements this server process sent to its database, counted by the wrappers in instrument.ts. */
export const counters: DbCounters = { statements: 0, writeStatements: 0, rowsWritten: 0 };
