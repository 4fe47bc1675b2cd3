import { createHash, randomBytes } from "node:crypto";
import type { LoginEvent, SessionRecord } from "../../src/types.js";

// Complete records for storage-level tests; each test overrides what it cares about.

export const MINUTE = 60_000;
export const DAY = 86_400_000;
// 2026-01-01T00:00:00Z: large enough that a 32-bit column or a float conversion would show.
export const T0 = 1_767_225_600_000;

export function newId(): string {
  return randomBytes(16).toString("base64url");
}

export function hex64(): string {
  return createHash("sha256").update(randomBytes(16)).digest("hex");
}

/** A complete session record. */
export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: newId(),
    secretHash: hex64(),
    userId: "user-a",
    status: "active",
    endReason: null,
    createdAt: T0,
    lastSeenAt: T0,
    expiresAt: T0 + 90 * DAY,
    endedAt: null,
    ip: "203.0.113.9",
    lastIp: "203.0.113.9",
    userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    browserName: "Firefox",
    browserVersion: "128.0",
    osName: "Linux",
    osVersion: null,
    deviceType: "desktop",
    country: null,
    region: null,
    city: null,
    deviceId: hex64(),
    rememberMe: true,
    data: null,
    authenticatedAt: T0,
    authFactor: "password",
    proofUsedAt: null,
    deviceKey: null,
    deviceKeyAlg: null,
    boundCookieHash: null,
    boundCookieExpiresAt: null,
    boundAt: null,
    name: null,
    deviceModel: null,
    ...overrides,
  };
}

/** A complete login event. */
export function loginEvent(overrides: Partial<LoginEvent> = {}): LoginEvent {
  return {
    id: newId(),
    userId: "user-a",
    sessionId: null,
    type: "sign_in",
    reason: null,
    ip: "203.0.113.9",
    userAgent: "Mozilla/5.0",
    browserName: null,
    browserVersion: null,
    osName: null,
    osVersion: null,
    deviceType: null,
    country: null,
    region: null,
    city: null,
    createdAt: T0,
    ...overrides,
  };
}

/** The sign-in event that goes with a session record. */
export function signInEventFor(record: SessionRecord): LoginEvent {
  return loginEvent({
    userId: record.userId,
    sessionId: record.id,
    ip: record.ip,
    createdAt: record.createdAt,
  });
}
