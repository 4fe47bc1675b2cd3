// The public surface of `sessionkeeper`: the keeper, its events, the guard and the storage
// contract. Adapters and backends live in subpath exports: sessionkeeper/express, /web, /fastify, /koa,
// /sqlite, /postgres, /mysql, /redis, /geo, /mail. Every name here is documented in docs/api.md.

export type { ClientHintHeaders } from "./client-hints.js";
export { ACCEPT_CH } from "./client-hints.js";
export type { DeviceBindingMode, DeviceBindingOptions } from "./device-binding/options.js";
export type { DeviceParts } from "./device-words.js";
export { describeDevice } from "./device-words.js";
export { parseDuration } from "./duration.js";
export { isStorageError, StorageError } from "./errors.js";
export type {
  ActivityEvent,
  ActivityType,
  Actor,
  RequestFacts,
  SessionEvent,
  SessionEventListener,
  SessionSnapshot,
  TransitionEvent,
} from "./events.js";
export type { GeoProvider } from "./geo/provider.js";
export type { HistoryEntry, HistoryFilter, HistoryPage } from "./history.js";
export { decodeHistoryCursor, encodeHistoryCursor, HISTORY_FILTERS } from "./history.js";
export { html, SafeHtml } from "./html.js";
export type { LiveBroadcast, LiveChannelOptions } from "./live/live-channel.js";
export { LiveChannel } from "./live/live-channel.js";
export { endedWords } from "./live/words.js";
export type { SessionKeeperOptions } from "./options.js";
export { createGuard, Guard, type SignInApprovals } from "./protection/guard.js";
export { ipRuleToJSON } from "./protection/ip-rules.js";
export type { GuardOptions } from "./protection/options.js";
export type {
  LinkKind,
  LinkResult,
  LinkView,
  Refusal,
  SignInResult,
  Verdict,
} from "./protection/results.js";
export type { ReauthChallenge, RecentAuthOptions, RecentAuthRule } from "./recent-auth.js";
export { recentAuthRule } from "./recent-auth.js";
export type { Outcome, RawRequest } from "./request.js";
export { RequestSession } from "./request-session.js";
export type {
  DeviceBindingResult,
  DeviceSessionConfig,
  SessionGate,
  SignInOptions,
} from "./session-keeper.js";
export { BINDING_REFUSED, createSessionKeeper, SessionKeeper } from "./session-keeper.js";
export type { HistoryEntryJSON } from "./session-view.js";
export { eventToJSON, historyEntryToJSON, sessionToJSON } from "./session-view.js";
export type { SessionCache } from "./storage/cache-contract.js";
export type {
  EndSessionInput,
  EventPosition,
  SessionBinding,
  SessionStore,
} from "./storage/contract.js";
export { protectionStore } from "./storage/kysely-protection.js";
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
  AuthFactor,
  DeviceKeyAlg,
  EndReason,
  Location,
  LoginEvent,
  PasskeyRecord,
  ReauthState,
  RequestInfo,
  Session,
  SessionData,
  SessionRecord,
  SessionStatus,
} from "./types.js";
export type { AppPage } from "./ui/app-page.js";
export { appPageRenderer } from "./ui/app-page.js";
export { renderLinkPage, renderLinkResultPage } from "./ui/link-page.js";
export type { AccountPagesOptions } from "./ui/options.js";
