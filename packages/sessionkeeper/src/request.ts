import { readClientHintHeaders } from "./client-hints.js";
import { type ProxyTrust, resolveClientIp } from "./client-ip.js";
import {
  answerDeviceBinding,
  type EndpointAnswer,
  isDeviceBindingPath,
} from "./device-binding/endpoints.js";
import { isStorageError } from "./errors.js";
import { isPromise, type MaybePromise } from "./maybe-promise.js";
import { isSameOriginRequest, isUnsafeMethod } from "./origin.js";
import { RequestSession } from "./request-session.js";
import { BINDING_REFUSED, type SessionKeeper, type Validated } from "./session-keeper.js";
import type { RequestInfo, SessionData } from "./types.js";

/** What an adapter reads off its framework's request. Everything here is hostile input. */
export interface RawRequest {
  method: string;
  path: string;
  header(name: string): string | null | undefined;
  socketAddress: string | null | undefined;
  /** The connection itself is TLS. */
  encrypted: boolean;
}

/** What the adapter must do before (or instead of) calling the app. */
export type Outcome<Data extends object = SessionData> =
  | { kind: "excluded" }
  | { kind: "forbidden"; status: 403; error: "cross_origin_request" }
  | { kind: "unavailable"; status: 503; error: "storage_unavailable" }
  | EndpointAnswer
  | { kind: "next"; context: RequestSession<Data> };

/** Adds a response header (appended: a name may repeat). Adapters pass their framework's way. */
export type SetHeader = (name: string, value: string) => void;

/** The request facts the core needs: client IP by the trustProxy rules, HTTPS or not. */
export function requestInfo(
  req: RawRequest,
  trust: ProxyTrust,
  secure: "auto" | boolean,
): RequestInfo {
  const ip = resolveClientIp(req.socketAddress, req.header("x-forwarded-for"), trust);
  let https = req.encrypted;
  // Only a trusted proxy may say the original request was HTTPS: with a CIDR list, the peer must be one.
  const fromProxy =
    trust.kind === "hops" || (trust.kind === "set" && trust.set.has(req.socketAddress ?? ""));
  if (!https && fromProxy) {
    const proto = req.header("x-forwarded-proto");
    https = typeof proto === "string" && proto.split(",")[0]?.trim().toLowerCase() === "https";
  }
  return {
    cookieHeader: req.header("cookie"),
    ip,
    userAgent: req.header("user-agent"),
    secure: secure === "auto" ? https : secure,
    // A getter: the hint headers are read at sign-in only, not on every request.
    get clientHints() {
      return readClientHintHeaders((name) => req.header(name));
    },
  };
}

/**
 * What every adapter does first (through `keeper.beginRequest`): skip excluded paths, refuse
 * cross-origin unsafe requests, and validate the session cookie. A storage failure becomes 503:
 * authenticated routes fail closed. Ready at once when validation needed no wait.
 */
export function beginRequest<Data extends object>(
  keeper: SessionKeeper<Data>,
  req: RawRequest,
  setCookie: (value: string) => void,
  setHeader: SetHeader = NO_HEADERS,
): MaybePromise<Outcome<Data>> {
  if (keeper.isExcluded(req.path)) return EXCLUDED;
  // Safe methods always pass: skip reading three headers on every GET.
  const sameOrigin =
    !isUnsafeMethod(req.method) ||
    isSameOriginRequest(req.method, {
      secFetchSite: req.header("sec-fetch-site"),
      origin: req.header("origin"),
      host: req.header("host"),
    });
  if (!sameOrigin) return FORBIDDEN;
  const info = keeper.requestInfo(req);
  // The DBSC endpoints answer by themselves (all adapters alike); the app's routes never run.
  if (isDeviceBindingPath(keeper, req.path))
    return answerDeviceBinding(keeper, req.method, req.path, req.header, info).catch(unavailable);
  const proceed = (
    found: Validated | null | typeof BINDING_REFUSED,
  ): MaybePromise<Outcome<Data>> => {
    const refused = found === BINDING_REFUSED;
    const valid = refused ? null : found;
    const next: Outcome<Data> = {
      kind: "next",
      context: new RequestSession(keeper, info, valid, setCookie, setHeader, refused),
    };
    // A bound session near its cookie's end gets a challenge to sign (rare: once per period).
    const due = valid?.record.deviceKey != null ? keeper.proactiveChallenge(valid.record) : null;
    if (due === null) return next;
    return due.then((challenge) => {
      setHeader("Secure-Session-Challenge", challenge);
      return next;
    }, unavailable);
  };
  let found: MaybePromise<Validated | null | typeof BINDING_REFUSED>;
  try {
    found = keeper.validateRequest(info);
  } catch (error) {
    return unavailable(error);
  }
  return isPromise(found) ? found.then(proceed, unavailable) : proceed(found);
}

const NO_HEADERS: SetHeader = () => {};

const EXCLUDED: Outcome<never> = Object.freeze({ kind: "excluded" });
const FORBIDDEN: Outcome<never> = Object.freeze({
  kind: "forbidden",
  status: 403,
  error: "cross_origin_request",
});
const UNAVAILABLE: Outcome<never> = Object.freeze({
  kind: "unavailable",
  status: 503,
  error: "storage_unavailable",
});

/** A storage failure is an answer (503); anything else is a bug and goes to the framework. */
function unavailable(error: unknown): Outcome<never> {
  if (isStorageError(error)) return UNAVAILABLE;
  throw error;
}

/**
 * Why a route that needs a session refuses this request, or null when it may go on: the error
 * code of the 401 (`unauthenticated`, or `device_binding_required` when the session lacks its
 * device binding, or `bound` was asked for and the session is not device-bound).
 */
export function sessionRefusal(
  context: RequestSession<object> | null | undefined,
  options: { bound?: boolean } = {},
): "unauthenticated" | "device_binding_required" | null {
  const binding = context?.deviceBinding ?? null;
  if (binding === "refused") return "device_binding_required";
  if (!context?.session) return "unauthenticated";
  if (options.bound && binding !== "bound") return "device_binding_required";
  return null;
}
