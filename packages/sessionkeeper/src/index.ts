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
