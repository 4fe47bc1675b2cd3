// The public surface of `sessionkeeper`. Adapters and backends live in subpath exports:
// sessionkeeper/express, sessionkeeper/web, sessionkeeper/sqlite, sessionkeeper/postgres, …

export type { SessionCache } from "./cache/contract.js";
export type { ProxyTrust, TrustProxy } from "./client-ip.js";
export { compileTrustProxy, resolveClientIp } from "./client-ip.js";
export type { Duration } from "./duration.js";
export { parseDuration } from "./duration.js";
export { isStorageError, StorageError } from "./errors.js";
export type { GeoProvider } from "./geo/provider.js";
export { cachedGeo } from "./geo/provider.js";
export type { Outcome, RawRequest } from "./http/context.js";
export { beginRequest, RequestSession, requestInfo } from "./http/context.js";
export { IpSet, isPrivateIp, normalizeIp, parseCidr } from "./ip.js";
export type { ResolvedOptions, SessionKeeperOptions } from "./options.js";
export { isSameOriginRequest, isUnsafeMethod } from "./origin.js";
// The sign-in guard (issue 4): IP rules, lockout, new-device verification, alerts.
export { createGuard, Guard } from "./protection/guard.js";
export type { IpRefusal, IpRuleJSON, RuleResult } from "./protection/ip-rules.js";
export { ipRuleToJSON } from "./protection/ip-rules.js";
export type { LinkKind } from "./protection/link-page.js";
export type { AlertPolicy, GuardOptions, VerificationPolicy } from "./protection/options.js";
export type { LinkResult, Refusal, SignInResult, Verdict } from "./protection/results.js";
export { distanceKm } from "./protection/travel.js";
export type { CookieResult, SessionGate, Validated } from "./session-keeper.js";
export { createSessionKeeper, SessionKeeper } from "./session-keeper.js";
export type { LoginEventJSON, SessionJSON } from "./session-view.js";
export { eventToJSON, sessionToJSON, toSession } from "./session-view.js";
export type { EndSessionInput, SessionStore } from "./storage/contract.js";
export { KyselyProtectionStore, protectionStore } from "./storage/kysely-protection.js";
export { createKyselyStore, KyselyStore } from "./storage/kysely-store.js";
export type { DatabaseTarget, OpenedStorage, OpenStorageOptions } from "./storage/open.js";
// DATABASE_URL → a store (SQLite, PostgreSQL, MySQL); drivers are imported only when named.
export { openStorage, parseDatabaseUrl } from "./storage/open.js";
export type {
  CounterState,
  FailureCounter,
  IpRule,
  PreviousSignIn,
  ProtectionStore,
  VerificationRecord,
} from "./storage/protection-store.js";
export type {
  EndReason,
  Location,
  LoginEvent,
  LoginEventType,
  RequestInfo,
  Session,
  SessionRecord,
  SessionStatus,
} from "./types.js";
export type {
  AccountHandler,
  AccountRequest,
  AccountResponse,
  AccountRoute,
} from "./ui/account-handler.js";
export { createAccountPagesHandler } from "./ui/account-handler.js";
export type { AccountApiOptions } from "./ui/api-handler.js";
export { createAccountApiHandler } from "./ui/api-handler.js";
export type { AppPage } from "./ui/app-page.js";
export { appPageRenderer } from "./ui/app-page.js";
export type { HtmlValue } from "./ui/html.js";
export { escapeHtml, html, SafeHtml } from "./ui/html.js";
export type { AccountPagesOptions, NavItem } from "./ui/options.js";
export type { DeviceInfo } from "./user-agent.js";
export { parseUserAgent } from "./user-agent.js";
