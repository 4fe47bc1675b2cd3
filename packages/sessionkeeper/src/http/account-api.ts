import { checkDeviceName, DEVICE_NAME_MAX } from "../device-name.js";
import { isStorageError } from "../errors.js";
import { encodeHistoryCursor, readHistoryQuery } from "../history.js";
import { RESUME_PARAM } from "../kept-post.js";
import type { SignInApprovals } from "../protection/guard.js";
import { type RecentAuthOptions, recentAuthRule } from "../recent-auth.js";
import type { RequestSession } from "../request-session.js";
import type { SessionKeeper } from "../session-keeper.js";
import { historyEntryToJSON, sessionToJSON } from "../session-view.js";
import {
  type AccountHandler,
  type AccountResponse,
  type AccountRoute,
  isSessionId,
  matchAccountPath,
} from "../ui/account-handler.js";
import { NOTHING_TO_RESUME } from "./kept-form.js";

/** Options of the JSON account API (`accountApi`, `accountApiFetch`). */
export interface AccountApiOptions {
  /** Default number of entries a `GET /history` page has (`?limit=` may ask for 1 to 100). Default 20. */
  historyLimit?: number;
  /**
   * What ending other sessions asks of the last proof of identity (see `requireRecentAuth`).
   * Default `{}`: the keeper's `reauthWindow`, any factor, sliding. `false` turns it off.
   * Ending the current session (signing out) never asks.
   */
  recentAuth?: RecentAuthOptions | false;
  /**
   * The sign-in guard (`createGuard`): `GET /sessions` then also lists the user's pending sign-ins
   * (`status: "pending"`), and `POST /sessions/:id/approve` and `POST /sessions/:id/deny` answer
   * them (204; 404 for anything but the user's own pending sign-in). Both ask for a recent proof
   * as `recentAuth` says. Without it those routes are not served.
   */
  guard?: SignInApprovals;
}

const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

/**
 * The JSON account API (docs/api.md) behind any framework: GET /sessions, DELETE /sessions/:id,
 * PATCH /sessions/:id {name}, POST /sessions/revoke-others, GET /history, and with the guard
 * POST /sessions/:id/approve and POST /sessions/:id/deny. 401 `{"error":"unauthenticated"}`
 * without a session.
 */
export function createAccountApiHandler(
  keeper: SessionKeeper<object>,
  options: AccountApiOptions = {},
): AccountHandler {
  const defaultLimit = options.historyLimit ?? 20;
  if (!Number.isInteger(defaultLimit) || defaultLimit < 1 || defaultLimit > 100) {
    throw new TypeError("options.historyLimit must be an integer from 1 to 100");
  }
  if (options.recentAuth !== undefined && options.recentAuth !== false) {
    if (typeof options.recentAuth !== "object" || options.recentAuth === null)
      throw new TypeError(
        "options.recentAuth must be an object of requireRecentAuth options, or false",
      );
  }
  const guard = options.guard ?? null;
  if (guard !== null && typeof guard?.approveSignIn !== "function")
    throw new TypeError("options.guard must be the sign-in guard (createGuard)");
  const rule = options.recentAuth === false ? null : recentAuthRule(options.recentAuth ?? {});
  // Null when the request may go on; else the 401 challenge (nothing has changed).
  const refuse = async (context: RequestSession<object>): Promise<AccountResponse | null> => {
    const challenge = rule ? await context.checkRecentAuth(rule) : null;
    if (!challenge) return null;
    const response = json(challenge.status, challenge.body);
    response.headers["www-authenticate"] = challenge.challenge;
    return response;
  };
  const match = (method: string, path: string): AccountRoute | null => {
    const found = matchAccountPath(path, "");
    if (!found) return null;
    if ((found.name === "approve" || found.name === "deny") && !guard) return null;
    const verb = method.toUpperCase();
    // /sessions/:id answers DELETE (sign it out) and PATCH (rename it, a JSON body).
    if (found.name === "revoke" && verb === "PATCH")
      return { name: "rename", sessionId: found.sessionId, readsForm: true, readsJson: true };
    const wanted = {
      sessions: "GET",
      history: "GET",
      "revoke-others": "POST",
      revoke: "DELETE",
      approve: "POST",
      deny: "POST",
      rename: null,
    }[found.name];
    if (verb === wanted || (wanted === "GET" && verb === "HEAD"))
      return { ...found, readsForm: false };
    return null;
  };
  return {
    match,
    async handle(request) {
      const route = match(request.method, request.path);
      if (!route) return null;
      // This API keeps no form posts, so a "resume" here has nothing to complete. Refused before
      // anything runs: a re-authentication page tricked into resuming to one of these routes
      // (an attacker's `next`) must not approve, refuse or sign out anything.
      if (route.name !== "sessions" && route.name !== "history" && request.query.has(RESUME_PARAM))
        return json(409, NOTHING_TO_RESUME);
      const context = request.session;
      const session = context?.session ?? null;
      if (!context || !session) return json(401, { error: "unauthenticated" });
      try {
        switch (route.name) {
          case "sessions": {
            const [sessions, pending] = await Promise.all([
              keeper.listSessions(session.userId, { currentId: session.id, status: "active" }),
              guard ? guard.pendingSignIns(session.userId) : [],
            ]);
            return json(200, { sessions: [...sessions, ...pending].map(sessionToJSON) });
          }
          case "history": {
            const query = readHistoryQuery(request.query, defaultLimit);
            if ("error" in query) return json(400, query);
            const page = await keeper.historyPage(session.userId, query);
            return json(200, {
              events: page.entries.map(historyEntryToJSON),
              nextCursor: page.next ? encodeHistoryCursor(page.next) : null,
            });
          }
          case "revoke-others": {
            const refused = await refuse(context);
            if (refused) return refused;
            const revoked = await keeper.revokeOtherSessions(session.userId, {
              keep: session.id,
              info: context.info,
              by: { kind: "session", sessionId: session.id },
            });
            return json(200, { revoked });
          }
          case "rename": {
            if (request.body === "too_large") return json(413, { error: "too_large" });
            const value = request.body?.get("name");
            let name: string | null;
            try {
              if (value === undefined || value === null) throw new RangeError("name is missing");
              name = checkDeviceName(value);
            } catch {
              return json(400, { error: "invalid_name", maxLength: DEVICE_NAME_MAX });
            }
            // Another user's id is answered exactly like an unknown one.
            const renamed = isSessionId(route.sessionId)
              ? await keeper.renameSession(route.sessionId, {
                  userId: session.userId,
                  name,
                  currentId: session.id,
                })
              : null;
            return renamed
              ? json(200, { session: sessionToJSON(renamed) })
              : json(404, { error: "not_found" });
          }
          case "revoke": {
            const id = route.sessionId;
            if (id === session.id) {
              // Ending the session making the request is signing out: its cookie is cleared too.
              await context.signOut();
              return noContent();
            }
            const refused = await refuse(context);
            if (refused) return refused;
            // Another user's id is answered exactly like an unknown one.
            const ended =
              isSessionId(id) &&
              (await keeper.revokeSession(id, {
                userId: session.userId,
                info: context.info,
                by: { kind: "session", sessionId: session.id },
              }));
            return ended ? noContent() : json(404, { error: "not_found" });
          }
          case "approve":
          case "deny": {
            const refused = await refuse(context);
            if (refused) return refused;
            const approvals = guard as SignInApprovals;
            const verdict =
              route.name === "approve"
                ? await approvals.approveSignIn(context, route.sessionId)
                : await approvals.denySignIn(context, route.sessionId);
            return verdict.ok ? noContent() : json(verdict.httpStatus, { error: verdict.error });
          }
        }
      } catch (error) {
        if (isStorageError(error)) return json(503, { error: "storage_unavailable" });
        throw error;
      }
    },
  };
}

function json(status: number, body: unknown): AccountResponse {
  return { status, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

function noContent(): AccountResponse {
  return { status: 204, headers: { "cache-control": "no-store" }, body: "" };
}
