import { checkDeviceName } from "../device-name.js";
import { describeDevice } from "../device-words.js";
import { isStorageError } from "../errors.js";
import { encodeHistoryCursor, readHistoryQuery } from "../history.js";
import { html, type SafeHtml } from "../html.js";
import { RESUME_PARAM } from "../kept-post.js";
import type { RequestSession } from "../request-session.js";
import type { SessionKeeper } from "../session-keeper.js";
import type { Session } from "../types.js";
import { renderConfirmRevokeOthers, renderDevicesPage } from "./devices-page.js";
import { renderHistoryPage } from "./history-page.js";
import { pageHeaders, renderPage } from "./layout.js";
import {
  type AccountPagesOptions,
  type ResolvedPageOptions,
  resolvePageOptions,
} from "./options.js";

/** A route of the account pages or API, found from method and path before any body is read. */
export interface AccountRoute {
  name: "sessions" | "history" | "revoke" | "revoke-others" | "approve" | "deny" | "rename";
  /** The `:id` path segment of a revoke, rename, approve or deny, unvalidated. */
  sessionId: string | null;
  /** The request carries a form the adapter reads (bounded) before calling `handle`. */
  readsForm: boolean;
  /** The body may also be a JSON object (the API's rename); its string fields are read as a form's. */
  readsJson?: boolean;
}

/** A request as the framework-agnostic handlers see it. Every field is hostile input. */
export interface AccountRequest {
  method: string;
  /** The path below the mount point, e.g. "/sessions" for "/account/sessions". */
  path: string;
  /** Where the handler is mounted, e.g. "/account" ("" at the root): links and redirects start here. */
  basePath: string;
  query: URLSearchParams;
  /** The parsed urlencoded body of a form POST, "too_large" past the bound, null without one. */
  body: URLSearchParams | "too_large" | null;
  /** The request's sessionkeeper context (null on a path excluded from sessions). */
  session: RequestSession<object> | null;
}

/** What the adapter sends back. */
export interface AccountResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A framework-agnostic handler: adapters `match` first, read a form if asked, then `handle`. */
export interface AccountHandler {
  /** The route a request names, or null when it is not this handler's (the app's routes go on). */
  match(method: string, path: string): AccountRoute | null;
  /** Answers a request, or null when it is not this handler's. A storage failure answers 503. */
  handle(request: AccountRequest): Promise<AccountResponse | null>;
}

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** True when a path segment can be a session id; anything else is treated as an unknown id. */
export function isSessionId(value: string | null): value is string {
  return value !== null && SESSION_ID.test(value);
}

/**
 * Matches the shared route shapes: /sessions, /sessions/revoke-others, /sessions/:id[/suffix],
 * /sessions/:id/approve, /sessions/:id/deny (a pending sign-in), /history, and the pages'
 * /sessions/:id/rename.
 */
export function matchAccountPath(
  path: string,
  idSuffix: string,
): { name: AccountRoute["name"]; sessionId: string | null } | null {
  const rename = /^\/sessions\/([^/]+)\/rename\/?$/.exec(path);
  if (idSuffix && rename) return { name: "rename", sessionId: rename[1] ?? null };
  const clean = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  if (clean === "/sessions") return { name: "sessions", sessionId: null };
  if (clean === "/history") return { name: "history", sessionId: null };
  if (clean === "/sessions/revoke-others") return { name: "revoke-others", sessionId: null };
  const parts = clean.split("/");
  const verb = parts[3];
  if (
    parts.length === 4 &&
    parts[1] === "sessions" &&
    parts[2] &&
    (verb === "approve" || verb === "deny")
  )
    return { name: verb, sessionId: parts[2] };
  const expected = idSuffix ? 4 : 3;
  if (
    parts.length === expected &&
    parts[1] === "sessions" &&
    (!idSuffix || parts[3] === idSuffix) &&
    parts[2]
  ) {
    return { name: "revoke", sessionId: parts[2] };
  }
  return null;
}

/**
 * The devices and history pages behind any framework: GET /sessions, POST /sessions/:id/revoke,
 * POST /sessions/revoke-others, GET /history. Signed-out visitors are sent to the sign-in page
 * (`signInPath`), or shown a built-in signed-out page (401) when the app named none.
 */
export function createAccountPagesHandler(
  keeper: SessionKeeper<object>,
  options: AccountPagesOptions = {},
): AccountHandler {
  const resolved = resolvePageOptions(options);
  const match = (method: string, path: string): AccountRoute | null => {
    const found = matchAccountPath(path, "revoke");
    if (!found) return null;
    const verb = method.toUpperCase();
    // GET /sessions/revoke-others is the page that asks first; its POST acts.
    const isPage =
      found.name === "sessions" || found.name === "history" || found.name === "revoke-others";
    if (isPage && (verb === "GET" || verb === "HEAD")) return { ...found, readsForm: false };
    const answers = found.name === "approve" || found.name === "deny";
    if (answers && !resolved.guard) return null;
    const acts =
      found.name === "revoke" ||
      found.name === "revoke-others" ||
      found.name === "rename" ||
      answers;
    if (acts && verb === "POST") return { ...found, readsForm: true };
    return null;
  };
  return {
    match,
    async handle(request) {
      const route = match(request.method, request.path);
      if (!route) return null;
      try {
        return await answerPage(keeper, resolved, route, request);
      } catch (error) {
        if (isStorageError(error)) return unavailablePage(resolved, request.basePath);
        throw error;
      }
    },
  };
}

async function answerPage(
  keeper: SessionKeeper<object>,
  options: ResolvedPageOptions,
  route: AccountRoute,
  request: AccountRequest,
): Promise<AccountResponse> {
  const context = request.session;
  const session = context?.session ?? null;
  const base = request.basePath;
  if (!context || !session) {
    if (options.signInPath === null) return signedOutPage(options, base);
    // After signing in, come back to the page (a POST's target is not a page: go to the list).
    const page = route.name === "history" ? "/history" : "/sessions";
    return redirect(options, withQuery(options.signInPath, { next: `${base}${page}` }));
  }
  if (request.body === "too_large") return tooLargePage(options, base);
  const now = keeper.now();
  const account = options.accountName ? await options.accountName(session.userId) : null;

  if (route.name === "sessions") {
    const [sessions, pending, notice, signIns] = await Promise.all([
      keeper.listSessions(session.userId, { currentId: session.id, status: "active" }),
      options.guard ? options.guard.pendingSignIns(session.userId) : [],
      confirmation(keeper, options, session, request.query),
      context.record ? keeper.deviceSignIns(context.record) : null,
    ]);
    const body = renderDevicesPage(options, {
      sessions,
      pending,
      now,
      touchInterval: keeper.settings.touchInterval,
      basePath: base,
      notice,
      account,
      deviceSignIns: signIns,
    });
    return { status: 200, headers: pageHeaders(options, true), body };
  }
  if (route.name === "history") {
    const query = readHistoryQuery(request.query, options.historyLimit);
    if ("error" in query) return badHistoryQuery(options, base);
    const page = await keeper.historyPage(session.userId, query);
    // The user's names for the devices on this page only: one lookup per session shown.
    const ids = new Set(
      page.entries.flatMap((e) =>
        (e.kind === "failures" ? e.events : [e.first]).map((x) => x.sessionId),
      ),
    );
    const named = await Promise.all([...ids].flatMap((id) => (id ? [keeper.getSession(id)] : [])));
    const deviceNames = new Map(
      named.flatMap((s) => (s?.name && s.userId === session.userId ? [[s.id, s.name]] : [])),
    );
    const body = renderHistoryPage(options, {
      entries: page.entries,
      filter: query.filter,
      nextCursor: page.next ? encodeHistoryCursor(page.next) : null,
      paged: query.before !== null,
      now,
      basePath: base,
      currentSessionId: session.id,
      deviceNames,
      account,
    });
    return { status: 200, headers: pageHeaders(options, true), body };
  }
  if (route.name === "revoke-others" && request.method.toUpperCase() !== "POST") {
    const others = (await keeper.listSessions(session.userId, { currentId: session.id })).filter(
      (s) => s.status === "active" && !s.current,
    );
    if (others.length === 0) return redirect(options, `${base}/sessions`);
    const body = renderConfirmRevokeOthers(options, {
      others,
      now,
      touchInterval: keeper.settings.touchInterval,
      basePath: base,
      account,
    });
    return { status: 200, headers: pageHeaders(options, true), body };
  }
  if (route.name === "rename") {
    // Renaming changes no one's access: it needs no fresh proof.
    const id = route.sessionId;
    const value = request.body?.get("name") ?? null;
    let name: string | null;
    try {
      name = checkDeviceName(value);
    } catch {
      return redirect(options, withQuery(`${base}/sessions`, { done: "rename-refused" }));
    }
    const renamed =
      isSessionId(id) &&
      (await keeper.renameSession(id, { userId: session.userId, name, currentId: session.id }));
    const query: Record<string, string> = renamed
      ? { done: name ? "renamed" : "name-cleared", session: id as string }
      : { done: "already-ended" };
    return redirect(options, withQuery(`${base}/sessions`, query));
  }
  // Ending other devices and answering a pending sign-in need a recent proof; signing out this
  // device never does.
  const others = route.name === "revoke-others" || route.sessionId !== session.id;
  if (others && options.recentAuth) {
    // The action is kept (this session, this path, one use, five minutes) while the user proves
    // it's them on the re-authentication page, which then posts it back with `?sk_resume=1`.
    const path = `${base}${request.path}`;
    const resume = request.query.get(RESUME_PARAM) === "1";
    const challenge = await context.checkRecentAuth(options.recentAuth);
    if (challenge) {
      if (options.reauthPath && (resume || (await context.keepPost({ path, body: "" })))) {
        const sent = redirect(options, withQuery(options.reauthPath, { next: path }));
        sent.headers["www-authenticate"] = challenge.challenge;
        return sent;
      }
      return reauthPage(options, base, challenge.challenge, route.name);
    }
    // A resume runs the kept action once; a replay (or a post kept elsewhere) does nothing.
    if (resume && (await context.takeKeptPost(path)) === null)
      return redirect(options, withQuery(`${base}/sessions`, { done: "already-done" }));
  }
  if ((route.name === "approve" || route.name === "deny") && options.guard) {
    const verdict =
      route.name === "approve"
        ? await options.guard.approveSignIn(context, route.sessionId)
        : await options.guard.denySignIn(context, route.sessionId);
    // Not the user's pending sign-in (any more): it was answered elsewhere, expired, or never was.
    const done = verdict.ok
      ? route.name === "approve"
        ? "approved"
        : "denied"
      : "already-answered";
    return redirect(options, withQuery(`${base}/sessions`, { done }));
  }
  if (route.name === "revoke-others") {
    const count = await keeper.revokeOtherSessions(session.userId, {
      keep: session.id,
      info: context.info,
      by: { kind: "session", sessionId: session.id },
    });
    return redirect(
      options,
      withQuery(`${base}/sessions`, { done: "signed-out-others", count: String(count) }),
    );
  }
  const id = route.sessionId;
  if (id === session.id) {
    // Signing out this device is a sign-out: the cookie goes too, and there is no page left to show.
    await context.signOut();
    return redirect(options, options.signInPath ?? `${base}/sessions`);
  }
  const ended =
    isSessionId(id) &&
    (await keeper.revokeSession(id, {
      userId: session.userId,
      info: context.info,
      by: { kind: "session", sessionId: session.id },
    }));
  // Another user's id reads exactly like an unknown one: "already ended", nothing changed.
  const query: Record<string, string> = ended
    ? { done: "signed-out", session: id as string }
    : { done: "already-ended" };
  return redirect(options, withQuery(`${base}/sessions`, query));
}

/**
 * The message after an action, from the non-secret `?done=` code. The device named is looked up
 * server-side and only when it is this user's and ended, so a crafted link cannot put words on the page.
 */
async function confirmation(
  keeper: SessionKeeper<object>,
  options: ResolvedPageOptions,
  session: Session,
  query: URLSearchParams,
): Promise<string | SafeHtml | null> {
  const done = query.get("done");
  if (done === "approved") return "Sign-in approved. The other device continues by itself.";
  if (done === "already-answered")
    return "That sign-in was already answered, or it expired. Nothing was changed.";
  if (done === "denied") {
    const change = options.changePasswordPath
      ? html` <a href="${options.changePasswordPath}">Change your password</a> if someone else may know it.`
      : " If someone else may know your password, change it.";
    return html`That sign-in was refused and can't be used.${change}`;
  }
  if (done === "signed-out-others") {
    const count = Number(query.get("count"));
    if (!Number.isSafeInteger(count) || count < 0 || count > 100_000) return null;
    if (count === 0) return "There were no other sessions to sign out.";
    return count === 1 ? "Signed out 1 other session." : `Signed out ${count} other sessions.`;
  }
  if (done === "already-ended") return "That session had already ended.";
  if (done === "already-done") return "That was already done; nothing more changed.";
  if (done === "rename-refused")
    return "That name was not saved: use at most 64 characters, without control characters.";
  if (done === "renamed" || done === "name-cleared") {
    const id = query.get("session");
    if (!isSessionId(id)) return null;
    const record = await keeper.getSession(id);
    if (!record || record.userId !== session.userId) return null;
    // Read back from storage: the words are the stored name, never the link's.
    return done === "renamed" && record.name
      ? `Renamed to ${describeDevice(record)}.`
      : `${describeDevice(record)} now goes by its browser's name.`;
  }
  if (done === "signed-out") {
    const id = query.get("session");
    if (!isSessionId(id)) return null;
    const record = await keeper.getSession(id);
    if (
      !record ||
      record.userId !== session.userId ||
      record.status === "active" ||
      record.status === "pending"
    )
      return null;
    // Named exactly as its card was ("Firefox 128 on Windows 10").
    return `Signed out ${describeDevice(record)}.`;
  }
  return null;
}

function redirect(options: ResolvedPageOptions, location: string): AccountResponse {
  const headers = pageHeaders(options);
  headers.location = location;
  // 303: the browser follows with a GET, so a reload never repeats the POST.
  return { status: 303, headers, body: "" };
}

function withQuery(path: string, params: Record<string, string>): string {
  return `${path}${path.includes("?") ? "&" : "?"}${new URLSearchParams(params).toString()}`;
}

/** Outside the re-authentication window: nothing was done; a link to prove it is you, then back. */
function reauthPage(
  options: ResolvedPageOptions,
  basePath: string,
  challenge: string,
  action: AccountRoute["name"],
): AccountResponse {
  const what =
    action === "approve" || action === "deny" ? "answer a sign-in" : "sign out other devices";
  // Without a re-authentication or sign-in page, signing out and in again is the way to prove it.
  const href = options.reauthPath
    ? withQuery(options.reauthPath, { next: `${basePath}/sessions` })
    : null;
  const content = href
    ? html`<p class="lede">To ${what}, first confirm it's you.</p><p><a class="button primary" href="${href}">Confirm it's you</a></p><p><a href="${basePath}/sessions">Back to your devices</a></p>`
    : html`<p class="lede">To ${what}, first sign out and sign in again.</p><p><a href="${basePath}/sessions">Back to your devices</a></p>`;
  const headers = { ...pageHeaders(options), "www-authenticate": challenge };
  return {
    status: 401,
    headers,
    body: renderPage(options, { name: null, heading: "Confirm it's you", basePath, content }),
  };
}

/** A history link this library did not make (a hand-edited cursor or filter). */
function badHistoryQuery(options: ResolvedPageOptions, basePath: string): AccountResponse {
  const content = html`<p class="lede">That page of your history does not exist. The link may be incomplete.</p><p><a href="${basePath}/history">Back to your history</a></p>`;
  return {
    status: 400,
    headers: pageHeaders(options),
    body: renderPage(options, { name: null, heading: "Page not found", basePath, content }),
  };
}

function tooLargePage(options: ResolvedPageOptions, basePath: string): AccountResponse {
  const content = html`<p class="lede">That request was larger than this page accepts.</p><p><a href="${basePath}/sessions">Back to your devices</a></p>`;
  const headers = { ...pageHeaders(options), connection: "close" };
  return {
    status: 413,
    headers,
    body: renderPage(options, { name: null, heading: "Request too large", basePath, content }),
  };
}

/** Shown to signed-out visitors when the app named no sign-in page (`signInPath`). */
function signedOutPage(options: ResolvedPageOptions, basePath: string): AccountResponse {
  const content = html`<p class="lede">You are signed out, or your session has ended. Sign in again to see your devices and sign-in history.</p>`;
  return {
    status: 401,
    headers: pageHeaders(options),
    body: renderPage(options, { name: null, heading: "Signed out", basePath, content }),
  };
}

function unavailablePage(options: ResolvedPageOptions, basePath: string): AccountResponse {
  const content = html`<p class="lede">Your sessions can't be loaded right now. Please try again in a moment.</p>`;
  const headers = { ...pageHeaders(options), "retry-after": "5" };
  return {
    status: 503,
    headers,
    body: renderPage(options, {
      name: null,
      heading: "Temporarily unavailable",
      basePath,
      content,
    }),
  };
}
