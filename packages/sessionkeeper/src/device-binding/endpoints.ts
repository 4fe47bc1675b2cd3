import type { DeviceBindingResult, SessionKeeper } from "../session-keeper.js";
import type { RequestInfo } from "../types.js";
import { parseSfString, sfString } from "./headers.js";
import { MAX_PROOF_LENGTH } from "./proof.js";

/** A complete answer the adapter sends as it is (the app's routes never see the request). */
export interface EndpointAnswer {
  kind: "respond";
  status: number;
  headers: Array<[string, string]>;
  cookies: string[];
  body: string;
}

// The refresh endpoint can leak login state to a page that frames or fetches it: never framed,
// never cached, and no CORS header at all (so never `Access-Control-Allow-Credentials`).
const BASE_HEADERS: Array<[string, string]> = [
  ["Content-Type", "application/json"],
  ["Cache-Control", "no-store"],
  ["X-Frame-Options", "DENY"],
  ["Content-Security-Policy", "frame-ancestors 'none'"],
];
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether a path is one of the keeper's DBSC endpoints (when binding is on). */
export function isDeviceBindingPath(keeper: SessionKeeper<object>, path: string): boolean {
  const o = keeper.deviceBinding;
  return o.mode !== "off" && (path === o.registrationPath || path === o.refreshPath);
}

/**
 * Answers a request to the registration or refresh endpoint. Every input is a header: the proof
 * (`Secure-Session-Response`, an sf-string of at most 4 KB) and, on refresh, the session id
 * (`Sec-Secure-Session-Id`). No request body is read.
 */
export async function answerDeviceBinding(
  keeper: SessionKeeper<object>,
  method: string,
  path: string,
  header: (name: string) => string | null | undefined,
  info: RequestInfo,
): Promise<EndpointAnswer> {
  if (method !== "POST")
    return answer(405, { error: "method_not_allowed" }, [], [["Allow", "POST"]]);
  const rawProof = header("secure-session-response");
  const proof = rawProof == null ? null : parseSfString(rawProof, MAX_PROOF_LENGTH);
  if (rawProof != null && proof === null) return answer(400, { error: "malformed_proof" });
  if (path === keeper.deviceBinding.registrationPath)
    return toAnswer(await keeper.bindDevice(info, proof));
  const sessionId = parseSfString(header("sec-secure-session-id"), 64);
  if (sessionId === null || !SESSION_ID.test(sessionId))
    return answer(400, { error: "invalid_session_id" });
  return toAnswer(await keeper.refreshDeviceBinding(info, sessionId, proof));
}

function toAnswer(result: DeviceBindingResult): EndpointAnswer {
  switch (result.kind) {
    case "bound":
    case "refreshed":
      return answer(200, result.config, result.setCookies);
    case "challenge":
      // The draft: 403 and a challenge; the browser signs it and asks again.
      return answer(
        403,
        { error: "challenge_required" },
        [],
        [
          [
            "Secure-Session-Challenge",
            `${sfString(result.challenge)};id=${sfString(result.sessionId)}`,
          ],
        ],
      );
    case "ended":
      return answer(200, { continue: false }, result.setCookies);
    case "refused":
      return answer(result.status, { error: result.error });
  }
}

function answer(
  status: number,
  body: unknown,
  cookies: string[] = [],
  extra: Array<[string, string]> = [],
): EndpointAnswer {
  return {
    kind: "respond",
    status,
    headers: [...BASE_HEADERS, ...extra],
    cookies,
    body: JSON.stringify(body),
  };
}
