// The public surface of `sessionkeeper`. Adapters and backends live in subpath exports:
// sessionkeeper/express, sessionkeeper/web, sessionkeeper/sqlite, sessionkeeper/postgres, …
export { createSessionKeeper, SessionKeeper } from "./session-keeper.js";
export type { CookieResult, Validated } from "./session-keeper.js";
export type { SessionKeeperOptions, ResolvedOptions } from "./options.js";
export { StorageError, isStorageError } from "./errors.js";
export { parseDuration } from "./duration.js";
export type { Duration } from "./duration.js";
export { resolveClientIp, compileTrustProxy } from "./client-ip.js";
export type { TrustProxy, ProxyTrust } from "./client-ip.js";
export { normalizeIp, isPrivateIp, parseCidr, IpSet } from "./ip.js";
export { isSameOriginRequest, isUnsafeMethod } from "./origin.js";
export { parseUserAgent } from "./user-agent.js";
export type { DeviceInfo } from "./user-agent.js";
export { toSession, sessionToJSON, eventToJSON } from "./session-view.js";
export type { SessionJSON, LoginEventJSON } from "./session-view.js";
export { cachedGeo } from "./geo/provider.js";
export type { GeoProvider } from "./geo/provider.js";
export type { SessionStore, EndSessionInput } from "./storage/contract.js";
export type { SessionCache } from "./cache/contract.js";
export { createKyselyStore, KyselyStore } from "./storage/kysely-store.js";
// DATABASE_URL → a store (SQLite, PostgreSQL, MySQL); drivers are imported only when named.
export { openStorage, parseDatabaseUrl } from "./storage/open.js";
export type { DatabaseTarget, OpenedStorage, OpenStorageOptions } from "./storage/open.js";
export { RequestSession, beginRequest, requestInfo } from "./http/context.js";
export type { RawRequest, Outcome } from "./http/context.js";
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
export { html, escapeHtml, SafeHtml } from "./ui/html.js";
export { appPageRenderer } from "./ui/app-page.js";
export type { AppPage } from "./ui/app-page.js";
export type { HtmlValue } from "./ui/html.js";
export { createAccountPagesHandler } from "./ui/account-handler.js";
export type {
  AccountHandler,
  AccountRequest,
  AccountResponse,
  AccountRoute,
} from "./ui/account-handler.js";
export { createAccountApiHandler } from "./ui/api-handler.js";
export type { AccountApiOptions } from "./ui/api-handler.js";
export type { AccountPagesOptions, NavItem } from "./ui/options.js";
export type { SessionGate } from "./session-keeper.js";
// The sign-in guard (issue 4): IP rules, lockout, new-device verification, alerts.
export { createGuard, Guard } from "./protection/guard.js";
export type { AlertPolicy, GuardOptions, VerificationPolicy } from "./protection/options.js";
export type { LinkResult, Refusal, SignInResult, Verdict } from "./protection/results.js";
export { ipRuleToJSON } from "./protection/ip-rules.js";
export type { IpRefusal, IpRuleJSON, RuleResult } from "./protection/ip-rules.js";
export type { LinkKind } from "./protection/link-page.js";
export { distanceKm } from "./protection/travel.js";
export { KyselyProtectionStore, protectionStore } from "./storage/kysely-protection.js";
export type {
  CounterState,
  FailureCounter,
  IpRule,
  PreviousSignIn,
  ProtectionStore,
  VerificationRecord,
} from "./storage/protection-store.js";
