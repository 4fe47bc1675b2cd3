import type { EventPosition, SessionStore } from "./storage/contract.js";
import type { LoginEvent } from "./types.js";

// The login history as people read it: one entry per sign-in with what followed it, repeated
// failures folded into one, security changes on their own. Pages are keyed by each entry's
// first stored event (the sign-in, the newest failure of a run, the change), walked newest
// first by (createdAt, id), so a cursor names a place in the table, not an offset.

/** Which entries a page shows: everything, or one kind. */
export type HistoryFilter = "all" | "sign_ins" | "failures" | "security";

export const HISTORY_FILTERS: readonly HistoryFilter[] = [
  "all",
  "sign_ins",
  "failures",
  "security",
];

/** Refused attempts, folded when they repeat. */
const FAILURES = ["sign_in_failed", "sign_in_blocked", "locked_out"] as const;
/** Changes to the account's protection, each an entry of its own. */
const SECURITY = [
  "password_changed",
  "session_locked",
  "verification_denied",
  "passkey_added",
  "passkey_removed",
  "ip_allow_added",
  "ip_allow_removed",
] as const;

const TYPES: Record<HistoryFilter, readonly string[] | null> = {
  all: null,
  sign_ins: ["sign_in"],
  failures: FAILURES,
  security: SECURITY,
};

/** Failures this close together, of one kind, from one device and address, read as one entry. */
export const FOLD_GAP_MS = 10 * 60_000;
/** A run is cut after this many, so one page never reads without end. */
const FOLD_MAX = 1000;
const BATCH = 100;
/**
 * Rows one page may read at most (the "all" tab skips story rows, which live under their
 * sign-in): past it, the page ends early with a cursor, so a request's cost stays bounded.
 */
const SCAN_MAX = 2000;

export type HistoryEntry =
  | {
      kind: "sign_in";
      /** The sign-in event. */
      first: LoginEvent;
      /** Everything that happened to the session after it, oldest first. */
      story: LoginEvent[];
    }
  | {
      kind: "failures";
      /** The run, newest first: `events[0]` keys the entry. */
      events: LoginEvent[];
    }
  | { kind: "security" | "activity"; first: LoginEvent };

export interface HistoryPage {
  entries: HistoryEntry[];
  /** Where the next page starts; null on the last page. */
  next: EventPosition | null;
}

/** What an event starts in the history: an entry of its own, or a line of a sign-in's story. */
function kindOf(event: LoginEvent): HistoryEntry["kind"] | "story" {
  if (event.type === "sign_in") return "sign_in";
  if ((FAILURES as readonly string[]).includes(event.type)) return "failures";
  if ((SECURITY as readonly string[]).includes(event.type)) return "security";
  return event.sessionId !== null ? "story" : "activity";
}

/** Whether `event` (older) continues the failure run `run` (newest first). */
function continuesRun(run: LoginEvent[], event: LoginEvent): boolean {
  const last = run[run.length - 1] as LoginEvent;
  return (
    run.length < FOLD_MAX &&
    event.type === last.type &&
    event.ip === last.ip &&
    event.browserName === last.browserName &&
    event.osName === last.osName &&
    event.deviceType === last.deviceType &&
    last.createdAt - event.createdAt <= FOLD_GAP_MS
  );
}

/**
 * One page of a user's history: at most `limit` entries after `before`. A failure run that reaches
 * the end of a page is read to its end first, so a run is never split across two pages; a
 * sign-in's story is read whole by session id (however late its last event came).
 */
export async function readHistoryPage(
  store: SessionStore,
  userId: string,
  options: { filter: HistoryFilter; before: EventPosition | null; limit: number },
): Promise<HistoryPage> {
  const types = TYPES[options.filter];
  const entries: HistoryEntry[] = [];
  let position = options.before;
  let more = false;
  let scanned = 0;
  read: for (;;) {
    const size = Math.max(options.limit + 1, BATCH);
    const rows = await store.listEventsPage(userId, { before: position, types, limit: size });
    for (const event of rows) {
      const kind = kindOf(event);
      const last = entries[entries.length - 1];
      if (kind === "failures" && last?.kind === "failures" && continuesRun(last.events, event)) {
        last.events.push(event);
      } else if (kind === "story") {
        // Shown under its sign-in; on the all-entries tab it only moves the position on.
      } else if (entries.length === options.limit) {
        more = true;
        break read;
      } else if (kind === "failures") {
        entries.push({ kind, events: [event] });
      } else if (kind === "sign_in") {
        entries.push({ kind, first: event, story: [] });
      } else {
        entries.push({ kind, first: event });
      }
      position = { at: event.createdAt, id: event.id };
    }
    if (rows.length < size) break;
    scanned += rows.length;
    if (scanned >= SCAN_MAX) {
      more = true;
      break;
    }
  }
  await addStories(store, userId, entries);
  return { entries, next: more ? position : null };
}

async function addStories(store: SessionStore, userId: string, entries: HistoryEntry[]) {
  const signIns = new Map<string, Extract<HistoryEntry, { kind: "sign_in" }>>();
  for (const entry of entries)
    if (entry.kind === "sign_in" && entry.first.sessionId)
      signIns.set(entry.first.sessionId, entry);
  if (signIns.size === 0) return;
  const events = await store.listSessionEvents(userId, [...signIns.keys()]);
  // Oldest first; the failures and changes that carry a session id are entries of their own,
  // except the session's ending (a "not me" lock), which also ends its story.
  for (const event of events.reverse()) {
    const entry = event.sessionId ? signIns.get(event.sessionId) : undefined;
    if (!entry || event.id === entry.first.id || event.type === "sign_in") continue;
    const kind = kindOf(event);
    if (kind === "story" || event.type === "session_locked") entry.story.push(event);
  }
}

/** The newest time of an entry (its key): the sign-in, the run's last failure, the change. */
export function entryKey(entry: HistoryEntry): LoginEvent {
  return entry.kind === "failures" ? (entry.events[0] as LoginEvent) : entry.first;
}

// Cursor: base64url of "<createdAt>.<id>". Opaque to clients, checked strictly on the way in.
const CURSOR = /^[A-Za-z0-9_-]{1,80}$/;
const POSITION = /^(0|[1-9]\d{0,15})\.([A-Za-z0-9_-]{1,32})$/;

export function encodeHistoryCursor(position: EventPosition): string {
  return Buffer.from(`${position.at}.${position.id}`, "utf8").toString("base64url");
}

/** The position a cursor names, or null when it is not one this library made. */
export function decodeHistoryCursor(cursor: string): EventPosition | null {
  if (!CURSOR.test(cursor)) return null;
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const match = POSITION.exec(text);
  if (!match) return null;
  const at = Number(match[1]);
  if (!Number.isSafeInteger(at)) return null;
  const position = { at, id: match[2] as string };
  // Only the canonical spelling: no padding tricks, no trailing bits.
  return encodeHistoryCursor(position) === cursor ? position : null;
}

/** The `type` query value in words, or null when it names no filter. Absent: all entries. */
export function parseHistoryFilter(value: string | null): HistoryFilter | null {
  if (value === null || value === "") return "all";
  return (HISTORY_FILTERS as readonly string[]).includes(value) ? (value as HistoryFilter) : null;
}

/** `?cursor=&type=&limit=` checked strictly: anything this library did not make is a 400. */
export function readHistoryQuery(
  query: URLSearchParams,
  defaultLimit: number,
):
  | { filter: HistoryFilter; before: EventPosition | null; limit: number }
  | { error: "invalid_cursor" | "invalid_type" | "invalid_limit" } {
  const filter = parseHistoryFilter(query.get("type"));
  if (!filter) return { error: "invalid_type" };
  const cursor = query.get("cursor");
  const before = cursor ? decodeHistoryCursor(cursor) : null;
  if (cursor && !before) return { error: "invalid_cursor" };
  const limitText = query.get("limit");
  if (limitText !== null && !/^[1-9]\d{0,5}$/.test(limitText)) return { error: "invalid_limit" };
  // Past the maximum is not an error: the page is only as long as allowed.
  const limit = limitText === null ? defaultLimit : Math.min(Number(limitText), 100);
  return { filter, before, limit };
}
