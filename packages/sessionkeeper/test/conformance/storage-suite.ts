import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isStorageError } from "../../src/errors.js";
import type { EndSessionInput, SessionStore } from "../../src/storage/contract.js";
import type { PasskeyRecord, ReauthState, SessionRecord } from "../../src/types.js";
import { DAY, hex64, loginEvent, MINUTE, newId, sessionRecord, T0 } from "../helpers/records.js";

/**
 * How the suite gets a backend: a store on a fresh, empty database (or schema) of its own, not yet
 * migrated. `cleanup` closes the store and drops the database; it must also work after the suite
 * has already called `store.close()` itself.
 */
export type OpenStore = () => Promise<{ store: SessionStore; cleanup: () => Promise<void> }>;

/** Creates a session with its sign-in event and returns the record. */
async function seed(
  store: SessionStore,
  overrides: Partial<SessionRecord> = {},
): Promise<SessionRecord> {
  const record = sessionRecord(overrides);
  await store.createSession(
    record,
    loginEvent({ userId: record.userId, sessionId: record.id, createdAt: record.createdAt }),
  );
  return record;
}

async function mustFind(store: SessionStore, id: string): Promise<SessionRecord> {
  const found = await store.findSession(id);
  assert.ok(found, `session ${id} should exist`);
  return found;
}

function passkey(overrides: Partial<PasskeyRecord> = {}): PasskeyRecord {
  return {
    id: `cred-${newId()}`,
    userId: "user-a",
    name: "Laptop",
    publicKey: "pQECAyYgASFYIK".repeat(20),
    counter: 0,
    transports: ["internal", "hybrid"],
    createdAt: T0,
    lastUsedAt: null,
    ...overrides,
  };
}

function reauthState(sessionId: string, overrides: Partial<ReauthState> = {}): ReauthState {
  return {
    id: newId(),
    sessionId,
    kind: "passkey_get",
    secretHash: hex64(),
    path: null,
    data: null,
    expiresAt: T0 + 5 * MINUTE,
    usedAt: null,
    createdAt: T0,
    ...overrides,
  };
}

/** A user's events other than the sign-ins that {@link seed} writes with each session. */
async function changesOf(store: SessionStore, userId = "user-a") {
  return (await store.listEvents(userId, { limit: 50 })).filter((e) => e.type !== "sign_in");
}

function revoked(endedAt: number, reason = "revoked_by_user"): EndSessionInput {
  return { status: "revoked", reason, endedAt };
}

/**
 * Registers node:test blocks that hold a {@link SessionStore} to its contract. Every backend
 * (SQLite, PostgreSQL, MySQL/MariaDB, or your own) runs this same suite against a real database.
 * @example
 * runStorageConformance("sqlite", async () => { const t = await tempSqlite(); return { store: t.store, cleanup: t.cleanup }; });
 */
export function runStorageConformance(name: string, open: OpenStore): void {
  /** Runs `fn` on a freshly opened and migrated store, and always cleans up. */
  async function withStore(
    fn: (store: SessionStore) => Promise<void>,
    options: { migrate?: boolean } = {},
  ): Promise<void> {
    const { store, cleanup } = await open();
    try {
      if (options.migrate !== false) await store.migrate();
      await fn(store);
    } finally {
      await cleanup();
    }
  }

  describe(`storage conformance: ${name}`, () => {
    describe("migrate", () => {
      it("is idempotent: a second run succeeds and keeps existing rows", () =>
        withStore(async (store) => {
          await store.migrate();
          const record = await seed(store);
          await store.migrate();
          assert.deepEqual(await store.findSession(record.id), record);
        }));

      it("survives two concurrent runs on the same store", () =>
        withStore(
          async (store) => {
            await Promise.all([store.migrate(), store.migrate()]);
            const record = await seed(store);
            assert.deepEqual(await store.findSession(record.id), record);
          },
          { migrate: false },
        ));
    });

    describe("createSession", () => {
      it("stores the session and its sign-in event together", () =>
        withStore(async (store) => {
          const record = sessionRecord();
          const event = loginEvent({ sessionId: record.id });
          await store.createSession(record, event);
          assert.deepEqual(await store.findSession(record.id), record);
          assert.deepEqual(await store.listEvents(record.userId, { limit: 10 }), [event]);
        }));

      it("is atomic: a duplicate session id fails with a StorageError and leaves no event", () =>
        withStore(async (store) => {
          const original = await seed(store, { userId: "owner" });
          const intruder = sessionRecord({ id: original.id, userId: "intruder" });
          const event = loginEvent({ userId: "intruder", sessionId: original.id });
          await assert.rejects(store.createSession(intruder, event), isStorageError);
          assert.deepEqual(await store.listEvents("intruder", { limit: 10 }), []);
          assert.deepEqual(await store.findSession(original.id), original);
        }));

      it("is atomic: a failing event insert leaves no session", () =>
        withStore(async (store) => {
          const first = await seed(store);
          const [firstEvent] = await store.listEvents(first.userId, { limit: 1 });
          assert.ok(firstEvent);
          const second = sessionRecord({ userId: "user-b" });
          // Reusing the first event's id makes the second insert of the transaction fail.
          await assert.rejects(
            store.createSession(second, { ...firstEvent, userId: "user-b", sessionId: second.id }),
            isStorageError,
          );
          assert.equal(await store.findSession(second.id), null);
          assert.deepEqual(
            await store.listUserSessions("user-b", { includeEnded: true, limit: 10 }),
            [],
          );
        }));
    });

    describe("findSession", () => {
      it("round-trips every field: numbers stay numbers, nulls stay null, IPv6 and unicode intact", () =>
        withStore(async (store) => {
          const full = sessionRecord({
            userId: `u-${"é".repeat(250)}`.slice(0, 255),
            createdAt: T0 + 1,
            lastSeenAt: T0 + 2 * MINUTE + 3,
            expiresAt: T0 + 400 * DAY + 7,
            ip: "2001:db8:85a3::8a2e:370:7334",
            lastIp: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            userAgent:
              `Mozilla/5.0 (Linux; Android 14) Навигатор/1.0 浏览器 🦊 ${"ü".repeat(600)}`.slice(
                0,
                512,
              ),
            browserName: "Chrome Mobile",
            browserVersion: "126.0.6478.110",
            osName: "Android",
            osVersion: "14",
            deviceType: "mobile",
            country: "DE",
            region: "Baden-Württemberg",
            city: "Düsseldorf",
            name: `Ноутбук 🦊 ${"ü".repeat(60)}`.slice(0, 64),
            deviceModel: "Pixel 8",
          });
          await seed(store, full);
          const found = await mustFind(store, full.id);
          assert.deepEqual(found, full);
          for (const field of ["createdAt", "lastSeenAt", "expiresAt"] as const) {
            assert.equal(typeof found[field], "number", `${field} is a number`);
          }

          const sparse = sessionRecord({
            userAgent: "",
            browserName: null,
            browserVersion: null,
            osName: null,
            osVersion: null,
            deviceType: null,
            deviceId: null,
            ip: "::1",
            lastIp: "::1",
          });
          await seed(store, sparse);
          assert.deepEqual(await store.findSession(sparse.id), sparse);

          const ended = sessionRecord({
            status: "revoked",
            endReason: "revoked_by_admin",
            endedAt: T0 + 5,
          });
          await seed(store, ended);
          const endedFound = await mustFind(store, ended.id);
          assert.deepEqual(endedFound, ended);
          assert.equal(typeof endedFound.endedAt, "number");
        }));

      it("returns null for an unknown id", () =>
        withStore(async (store) => {
          await seed(store);
          assert.equal(await store.findSession(newId()), null);
        }));
    });

    describe("touchSession", () => {
      it("writes last-seen time and IP when lastSeenAt is still the one read, and nothing else", () =>
        withStore(async (store) => {
          const record = await seed(store, {
            country: "FR",
            region: "Île-de-France",
            city: "Paris",
          });
          const changed = await store.touchSession(record.id, {
            lastSeenAt: T0 + MINUTE,
            lastIp: "2001:db8::1",
            previousLastSeenAt: T0,
          });
          assert.equal(changed, true);
          // Without a location the stored one is kept.
          assert.deepEqual(await store.findSession(record.id), {
            ...record,
            lastSeenAt: T0 + MINUTE,
            lastIp: "2001:db8::1",
          });
        }));

      it("refuses a stale previousLastSeenAt: the second of two touches returns false and writes nothing", () =>
        withStore(async (store) => {
          const record = await seed(store);
          assert.equal(
            await store.touchSession(record.id, {
              lastSeenAt: T0 + MINUTE,
              lastIp: "198.51.100.1",
              previousLastSeenAt: T0,
            }),
            true,
          );
          assert.equal(
            await store.touchSession(record.id, {
              lastSeenAt: T0 + 2 * MINUTE,
              lastIp: "198.51.100.2",
              previousLastSeenAt: T0,
            }),
            false,
          );
          const found = await mustFind(store, record.id);
          assert.equal(found.lastSeenAt, T0 + MINUTE);
          assert.equal(found.lastIp, "198.51.100.1");
        }));

      it("lets exactly one of two concurrent touches with the same previous value win", () =>
        withStore(async (store) => {
          const record = await seed(store);
          const results = await Promise.all([
            store.touchSession(record.id, {
              lastSeenAt: T0 + MINUTE,
              lastIp: "198.51.100.1",
              previousLastSeenAt: T0,
            }),
            store.touchSession(record.id, {
              lastSeenAt: T0 + MINUTE + 1,
              lastIp: "198.51.100.2",
              previousLastSeenAt: T0,
            }),
          ]);
          assert.deepEqual(results.filter(Boolean).length, 1);
          const found = await mustFind(store, record.id);
          const winner = results[0]
            ? { lastSeenAt: T0 + MINUTE, lastIp: "198.51.100.1" }
            : { lastSeenAt: T0 + MINUTE + 1, lastIp: "198.51.100.2" };
          assert.deepEqual({ lastSeenAt: found.lastSeenAt, lastIp: found.lastIp }, winner);
        }));

      it("writes the location when given, nulls included", () =>
        withStore(async (store) => {
          const record = await seed(store, {
            country: "FR",
            region: "Île-de-France",
            city: "Paris",
          });
          await store.touchSession(record.id, {
            lastSeenAt: T0 + MINUTE,
            lastIp: "192.0.2.1",
            previousLastSeenAt: T0,
            location: { country: "JP", region: "東京都", city: null },
          });
          const found = await mustFind(store, record.id);
          assert.deepEqual(
            { country: found.country, region: found.region, city: found.city },
            { country: "JP", region: "東京都", city: null },
          );
        }));

      it("never touches an ended or unknown session", () =>
        withStore(async (store) => {
          const record = await seed(store);
          assert.equal(
            await store.endSession(record.id, {
              status: "inactive",
              reason: "sign_out",
              endedAt: T0 + 1,
            }),
            true,
          );
          assert.equal(
            await store.touchSession(record.id, {
              lastSeenAt: T0 + MINUTE,
              lastIp: "192.0.2.1",
              previousLastSeenAt: T0,
            }),
            false,
          );
          assert.equal((await mustFind(store, record.id)).lastSeenAt, T0);
          assert.equal(
            await store.touchSession(newId(), {
              lastSeenAt: T0 + MINUTE,
              lastIp: "192.0.2.1",
              previousLastSeenAt: T0,
            }),
            false,
          );
        }));
    });

    describe("rotateSession", () => {
      it("replaces the secret hash of an active session when expecting active", () =>
        withStore(async (store) => {
          const record = await seed(store);
          const secretHash = hex64();
          assert.equal(
            await store.rotateSession(record.id, { secretHash, expectStatus: "active" }),
            true,
          );
          assert.deepEqual(await store.findSession(record.id), { ...record, secretHash });
        }));

      it("activates a pending session only when expecting pending", () =>
        withStore(async (store) => {
          const record = await seed(store, { status: "pending" });
          const secretHash = hex64();
          assert.equal(
            await store.rotateSession(record.id, {
              secretHash,
              status: "active",
              expectStatus: "active",
            }),
            false,
          );
          assert.deepEqual(await store.findSession(record.id), record);
          assert.equal(
            await store.rotateSession(record.id, {
              secretHash,
              status: "active",
              expectStatus: "pending",
            }),
            true,
          );
          assert.deepEqual(await store.findSession(record.id), {
            ...record,
            secretHash,
            status: "active",
          });
        }));

      it("refuses an ended or unknown session and changes nothing", () =>
        withStore(async (store) => {
          const record = await seed(store);
          await store.endSession(record.id, revoked(T0 + 1));
          const before = await mustFind(store, record.id);
          assert.equal(
            await store.rotateSession(record.id, { secretHash: hex64(), expectStatus: "active" }),
            false,
          );
          assert.deepEqual(await store.findSession(record.id), before);
          assert.equal(
            await store.rotateSession(newId(), { secretHash: hex64(), expectStatus: "active" }),
            false,
          );
        }));
    });

    describe("proofs of identity (rotateSession with proof, markProofUsed)", () => {
      it("records the proof's time and factor with the new hash, and clears the sliding mark", () =>
        withStore(async (store) => {
          const record = await seed(store, { authenticatedAt: T0, authFactor: "password" });
          assert.equal(await store.markProofUsed(record.id, { at: T0 + 5 }), true);
          assert.deepEqual(await store.findSession(record.id), { ...record, proofUsedAt: T0 + 5 });
          const secretHash = hex64();
          const proof = { at: T0 + 10, factor: "passkey" as const };
          assert.equal(
            await store.rotateSession(record.id, { secretHash, expectStatus: "active", proof }),
            true,
          );
          assert.deepEqual(await store.findSession(record.id), {
            ...record,
            secretHash,
            authenticatedAt: T0 + 10,
            authFactor: "passkey",
            proofUsedAt: null,
          });
        }));

      it("keeps a session never proven as null, and marks only active sessions", () =>
        withStore(async (store) => {
          const pending = await seed(store, {
            status: "pending",
            authenticatedAt: null,
            authFactor: "email_code",
          });
          assert.deepEqual(await store.findSession(pending.id), pending);
          assert.equal(await store.markProofUsed(pending.id, { at: T0 + 1 }), false);
          assert.equal(await store.markProofUsed(newId(), { at: T0 + 1 }), false);
          assert.deepEqual(await store.findSession(pending.id), pending);
        }));
    });

    describe("device binding (bindSession, refreshBinding, challenges)", () => {
      const binding = () => ({
        key: JSON.stringify({ kty: "EC", crv: "P-256", x: "x".repeat(43), y: "y".repeat(43) }),
        alg: "ES256" as const,
        cookieHash: hex64(),
        cookieExpiresAt: T0 + 10 * MINUTE,
        boundAt: T0 + 1,
      });

      it("binds an active session once, and a lookup (cached or not) sees the key and cookie", () =>
        withStore(async (store) => {
          const record = await seed(store);
          await mustFind(store, record.id); // a cached copy, where there is a cache
          const b = binding();
          assert.equal(await store.bindSession(record.id, b), true);
          const bound = {
            ...record,
            deviceKey: b.key,
            deviceKeyAlg: b.alg,
            boundCookieHash: b.cookieHash,
            boundCookieExpiresAt: b.cookieExpiresAt,
            boundAt: b.boundAt,
          };
          assert.deepEqual(await store.findSession(record.id), bound);
          // Never re-bound to another key.
          assert.equal(await store.bindSession(record.id, binding()), false);
          assert.deepEqual(await store.findSession(record.id), bound);
          // A refresh replaces only the bound cookie.
          const next = { cookieHash: hex64(), cookieExpiresAt: T0 + 20 * MINUTE };
          assert.equal(await store.refreshBinding(record.id, next), true);
          assert.deepEqual(await store.findSession(record.id), {
            ...bound,
            boundCookieHash: next.cookieHash,
            boundCookieExpiresAt: next.cookieExpiresAt,
          });
        }));

      it("binds and refreshes only active sessions; an unbound one has nothing to refresh", () =>
        withStore(async (store) => {
          const pending = await seed(store, { status: "pending" });
          const unbound = await seed(store);
          const ended = await seed(store);
          await store.bindSession(ended.id, binding());
          await store.endSession(ended.id, revoked(T0 + 5));
          const update = { cookieHash: hex64(), cookieExpiresAt: T0 + MINUTE };
          assert.equal(await store.bindSession(pending.id, binding()), false);
          assert.equal(await store.bindSession(newId(), binding()), false);
          assert.equal(await store.refreshBinding(unbound.id, update), false);
          assert.equal(await store.refreshBinding(ended.id, update), false);
          assert.deepEqual(await store.findSession(unbound.id), unbound);
        }));

      it("a challenge is taken once, by its own session, before it expires; prune drops old ones", () =>
        withStore(async (store) => {
          const a = await seed(store);
          const b = await seed(store);
          const hash = hex64();
          await store.addDeviceChallenge({ hash, sessionId: a.id, expiresAt: T0 + MINUTE });
          assert.equal(await store.takeDeviceChallenge(hash, { sessionId: b.id, now: T0 }), false);
          assert.equal(
            await store.takeDeviceChallenge(hash, { sessionId: a.id, now: T0 + MINUTE }),
            false,
            "expired",
          );
          const [first, second] = await Promise.all([
            store.takeDeviceChallenge(hash, { sessionId: a.id, now: T0 }),
            store.takeDeviceChallenge(hash, { sessionId: a.id, now: T0 }),
          ]);
          assert.deepEqual([first, second].sort(), [false, true], "used exactly once");
          assert.equal(await store.takeDeviceChallenge(hash, { sessionId: a.id, now: T0 }), false);
          const old = hex64();
          await store.addDeviceChallenge({ hash: old, sessionId: a.id, expiresAt: T0 + 1 });
          await store.prune({
            endedBefore: T0 - DAY,
            expiredBefore: T0 - DAY,
            idleBefore: T0 - DAY,
            eventsBefore: T0 - DAY,
            challengesBefore: T0 + 2,
          });
          assert.equal(await store.takeDeviceChallenge(old, { sessionId: a.id, now: T0 }), false);
        }));

      it("with keep, a session's open challenges are its newest few; other sessions' stay", () =>
        withStore(async (store) => {
          const a = await seed(store);
          const b = await seed(store);
          const other = hex64();
          await store.addDeviceChallenge({ hash: other, sessionId: b.id, expiresAt: T0 + MINUTE });
          const hashes: string[] = [];
          for (let i = 0; i < 10; i++) {
            const hash = hex64();
            hashes.push(hash);
            await store.addDeviceChallenge({
              hash,
              sessionId: a.id,
              expiresAt: T0 + MINUTE + i,
              keep: 3,
            });
          }
          const taken = [];
          for (const hash of hashes)
            taken.push(await store.takeDeviceChallenge(hash, { sessionId: a.id, now: T0 }));
          assert.deepEqual(taken, [...Array(7).fill(false), true, true, true]);
          assert.equal(await store.takeDeviceChallenge(other, { sessionId: b.id, now: T0 }), true);
        }));

      it("endBinding clears an ended session's bound cookie once; a live session keeps it", () =>
        withStore(async (store) => {
          const live = await seed(store);
          const ended = await seed(store);
          for (const r of [live, ended]) await store.bindSession(r.id, binding());
          await store.endSession(ended.id, revoked(T0 + 5));
          assert.equal(await store.endBinding(live.id), false);
          assert.ok((await store.findSession(live.id))?.boundCookieHash, "a live binding stays");
          const [one, two] = await Promise.all([
            store.endBinding(ended.id),
            store.endBinding(ended.id),
          ]);
          assert.deepEqual([one, two].sort(), [false, true], "true exactly once");
          const after = await store.findSession(ended.id);
          assert.equal(after?.boundCookieHash, null);
          assert.ok(after?.deviceKey, "the key stays on record: the session was device-bound");
          assert.equal(await store.endBinding(newId()), false);
        }));
    });

    describe("device names (renameSession, deviceSignIns)", () => {
      it("renameSession names one of the user's live sessions, pending too; null clears it", () =>
        withStore(async (store) => {
          const record = await seed(store);
          const pending = await seed(store, { status: "pending", authenticatedAt: null });
          const name = "Work laptop — Zoë's 💻";
          assert.equal(await store.renameSession(record.id, { userId: record.userId, name }), true);
          assert.deepEqual(await store.findSession(record.id), { ...record, name });
          assert.equal(
            await store.renameSession(pending.id, { userId: pending.userId, name: "Phone" }),
            true,
          );
          assert.equal((await mustFind(store, pending.id)).name, "Phone");
          assert.equal(
            await store.renameSession(record.id, { userId: record.userId, name: null }),
            true,
          );
          assert.deepEqual(await store.findSession(record.id), record);
        }));

      it("renameSession refuses another user's, an ended and an unknown session, changing nothing", () =>
        withStore(async (store) => {
          const record = await seed(store, { name: "Mine" });
          const ended = await seed(store);
          await store.endSession(ended.id, revoked(T0 + 1));
          const endedBefore = await mustFind(store, ended.id);
          const rename = (id: string, userId: string) =>
            store.renameSession(id, { userId, name: "Stolen" });
          assert.equal(await rename(record.id, "user-b"), false);
          assert.equal(await rename(ended.id, ended.userId), false);
          assert.equal(await rename(newId(), record.userId), false);
          assert.deepEqual(await store.findSession(record.id), record);
          assert.deepEqual(await store.findSession(ended.id), endedBefore);
        }));

      it("deviceSignIns counts one user's proven sign-ins with one device, ended ones too", () =>
        withStore(async (store) => {
          const device = hex64();
          await seed(store, { deviceId: device, createdAt: T0 + 5 * DAY });
          const first = await seed(store, { deviceId: device, createdAt: T0 + 2 * DAY });
          await store.endSession(first.id, revoked(T0 + 3 * DAY));
          await seed(store, { deviceId: device, createdAt: T0 + 9 * DAY });
          // Not counted: never proven (a held sign-in), another device, another user.
          await seed(store, {
            deviceId: device,
            status: "pending",
            authenticatedAt: null,
            createdAt: T0,
          });
          await seed(store, { deviceId: hex64(), createdAt: T0 });
          await seed(store, { deviceId: device, userId: "user-b", createdAt: T0 });
          assert.deepEqual(await store.deviceSignIns("user-a", device), {
            count: 3,
            firstAt: T0 + 2 * DAY,
          });
          assert.deepEqual(await store.deviceSignIns("user-a", hex64()), {
            count: 0,
            firstAt: null,
          });
        }));
    });

    describe("listUserSessions", () => {
      it("lists one user's live sessions, newest activity first, and nobody else's", () =>
        withStore(async (store) => {
          const older = await seed(store, { lastSeenAt: T0 + 1 * MINUTE });
          const newest = await seed(store, { lastSeenAt: T0 + 3 * MINUTE });
          const pending = await seed(store, { status: "pending", lastSeenAt: T0 + 2 * MINUTE });
          const ended = await seed(store, { lastSeenAt: T0 + 4 * MINUTE });
          await store.endSession(ended.id, revoked(T0 + 5 * MINUTE));
          await seed(store, { userId: "user-b", lastSeenAt: T0 + 9 * MINUTE });
          await seed(store, { userId: "user-a2", lastSeenAt: T0 + 9 * MINUTE });

          const live = await store.listUserSessions("user-a", { includeEnded: false, limit: 50 });
          assert.deepEqual(
            live.map((s) => s.id),
            [newest.id, pending.id, older.id],
          );
          assert.deepEqual(live[0], newest);
        }));

      it("with liveAt, leaves out sessions past their lifetime or idle deadline before the limit", () =>
        withStore(async (store) => {
          const now = T0 + 10 * MINUTE;
          const idleTimeout = 5 * MINUTE;
          // Newest activity, but past its lifetime: it would take the only slot without the filter.
          await seed(store, { lastSeenAt: now - MINUTE, expiresAt: now });
          await seed(store, { lastSeenAt: now - idleTimeout }); // idle exactly at the deadline
          const live = await seed(store, { lastSeenAt: now - 2 * MINUTE, expiresAt: now + 1 });
          const listed = await store.listUserSessions("user-a", {
            includeEnded: false,
            limit: 1,
            liveAt: { now, idleTimeout },
          });
          assert.deepEqual(
            listed.map((s) => s.id),
            [live.id],
          );
        }));

      it("with liveAt and browserSessionIdleTimeout, leaves out idle sessions without remember-me before the limit", () =>
        withStore(async (store) => {
          const now = T0 + 60 * MINUTE;
          const liveAt = { now, idleTimeout: 30 * MINUTE, browserSessionIdleTimeout: 10 * MINUTE };
          // Newest activity, but not remembered and idle past its shorter timeout.
          await seed(store, { rememberMe: false, lastSeenAt: now - 10 * MINUTE });
          const remembered = await seed(store, { lastSeenAt: now - 20 * MINUTE });
          await seed(store, { rememberMe: false, lastSeenAt: now - 25 * MINUTE });
          const listed = await store.listUserSessions("user-a", {
            includeEnded: false,
            limit: 1,
            liveAt,
          });
          assert.deepEqual(
            listed.map((s) => s.id),
            [remembered.id],
          );
          const all = await store.listUserSessions("user-a", {
            includeEnded: false,
            limit: 10,
            liveAt: { ...liveAt, browserSessionIdleTimeout: 30 * MINUTE },
          });
          assert.equal(all.length, 3, "with the same timeout for both, all three are in");
        }));

      it("includes ended sessions with includeEnded, still ordered and scoped to the user", () =>
        withStore(async (store) => {
          const a = await seed(store, { lastSeenAt: T0 + 1 * MINUTE });
          const b = await seed(store, { lastSeenAt: T0 + 3 * MINUTE });
          await store.endSession(b.id, revoked(T0 + 4 * MINUTE));
          await seed(store, { userId: "user-b", lastSeenAt: T0 + 2 * MINUTE });
          const all = await store.listUserSessions("user-a", { includeEnded: true, limit: 50 });
          assert.deepEqual(
            all.map((s) => [s.id, s.status]),
            [
              [b.id, "revoked"],
              [a.id, "active"],
            ],
          );
        }));

      it("honours the limit, keeping the newest", () =>
        withStore(async (store) => {
          const ids: string[] = [];
          for (let i = 0; i < 5; i++)
            ids.push((await seed(store, { lastSeenAt: T0 + i * MINUTE })).id);
          const two = await store.listUserSessions("user-a", { includeEnded: false, limit: 2 });
          assert.deepEqual(
            two.map((s) => s.id),
            [ids[4], ids[3]],
          );
        }));

      it("returns an empty list for a user without sessions", () =>
        withStore(async (store) => {
          await seed(store);
          assert.deepEqual(
            await store.listUserSessions("nobody", { includeEnded: true, limit: 10 }),
            [],
          );
        }));
    });

    describe("endSession", () => {
      it("ends a live session once; a second call returns false and keeps the first reason and time", () =>
        withStore(async (store) => {
          const record = await seed(store);
          assert.equal(
            await store.endSession(record.id, {
              status: "inactive",
              reason: "sign_out",
              endedAt: T0 + MINUTE,
            }),
            true,
          );
          assert.equal(
            await store.endSession(record.id, {
              status: "expired",
              reason: "idle_timeout",
              endedAt: T0 + 2 * MINUTE,
            }),
            false,
          );
          assert.deepEqual(await store.findSession(record.id), {
            ...record,
            status: "inactive",
            endReason: "sign_out",
            endedAt: T0 + MINUTE,
          });
        }));

      it("with userId, ends only that user's session: another user's id is false and unchanged", () =>
        withStore(async (store) => {
          const victim = await seed(store, { userId: "user-b" });
          assert.equal(
            await store.endSession(victim.id, revoked(T0 + 1), { userId: "user-a" }),
            false,
          );
          assert.deepEqual(await store.findSession(victim.id), victim);
          assert.equal(
            await store.endSession(victim.id, revoked(T0 + 1), { userId: "user-b" }),
            true,
          );
          assert.equal((await mustFind(store, victim.id)).status, "revoked");
        }));

      it("ends a pending session, and returns false for an unknown id", () =>
        withStore(async (store) => {
          const pending = await seed(store, { status: "pending" });
          assert.equal(
            await store.endSession(pending.id, {
              status: "revoked",
              reason: "not_me",
              endedAt: T0 + 1,
            }),
            true,
          );
          assert.equal((await mustFind(store, pending.id)).endReason, "not_me");
          assert.equal(await store.endSession(newId(), revoked(T0 + 1)), false);
        }));
    });

    describe("endUserSessions", () => {
      it("ends the user's other live sessions, returns their ids, and leaves the rest alone", () =>
        withStore(async (store) => {
          const current = await seed(store);
          const other1 = await seed(store);
          const other2 = await seed(store, { status: "pending" });
          const alreadyEnded = await seed(store);
          await store.endSession(alreadyEnded.id, {
            status: "inactive",
            reason: "sign_out",
            endedAt: T0 + 1,
          });
          const stranger = await seed(store, { userId: "user-b" });

          const ids = await store.endUserSessions(
            "user-a",
            revoked(T0 + MINUTE, "password_changed"),
            { exceptId: current.id },
          );
          assert.deepEqual([...ids].sort(), [other1.id, other2.id].sort());
          for (const id of [other1.id, other2.id]) {
            const found = await mustFind(store, id);
            assert.deepEqual(
              [found.status, found.endReason, found.endedAt],
              ["revoked", "password_changed", T0 + MINUTE],
            );
          }
          assert.deepEqual(await store.findSession(current.id), current);
          const old = await mustFind(store, alreadyEnded.id);
          assert.deepEqual(
            [old.status, old.endReason, old.endedAt],
            ["inactive", "sign_out", T0 + 1],
          );
          assert.deepEqual(await store.findSession(stranger.id), stranger);
        }));

      it("without exceptId ends every live session; a second call ends none", () =>
        withStore(async (store) => {
          const a = await seed(store);
          const b = await seed(store);
          const ids = await store.endUserSessions("user-a", revoked(T0 + 1, "revoked_by_admin"));
          assert.deepEqual([...ids].sort(), [a.id, b.id].sort());
          assert.deepEqual(
            await store.endUserSessions("user-a", revoked(T0 + 2, "revoked_by_admin")),
            [],
          );
          assert.deepEqual(
            await store.listUserSessions("user-a", { includeEnded: false, limit: 10 }),
            [],
          );
          assert.deepEqual(await store.endUserSessions("nobody", revoked(T0 + 2)), []);
        }));
    });

    describe("state changes written with their history event", () => {
      it("endSession with an event records it once, only when this call ended the session", () =>
        withStore(async (store) => {
          const record = await seed(store);
          const event = loginEvent({ sessionId: record.id, type: "session_revoked" });
          assert.equal(await store.endSession(record.id, revoked(T0 + 1), { event }), true);
          const late = loginEvent({ sessionId: record.id, type: "session_revoked" });
          assert.equal(await store.endSession(record.id, revoked(T0 + 2), { event: late }), false);
          assert.deepEqual(await changesOf(store), [event]);
        }));

      it("endSession is atomic: a failing event insert leaves the session live", () =>
        withStore(async (store) => {
          const record = await seed(store);
          const first = loginEvent({ sessionId: record.id });
          await store.recordEvent(first);
          // The same event id again violates the events' primary key inside the transaction.
          const clash = loginEvent({ id: first.id, sessionId: record.id, createdAt: T0 + 1 });
          await assert.rejects(
            store.endSession(record.id, revoked(T0 + 1), { event: clash }),
            isStorageError,
          );
          assert.deepEqual(await store.findSession(record.id), record);
        }));

      it("rotateSession with an event records it when the row changed, and is atomic", () =>
        withStore(async (store) => {
          const pending = await seed(store, { status: "pending" });
          const activated = loginEvent({ sessionId: pending.id, type: "session_activated" });
          const update = { secretHash: hex64(), status: "active" as const };
          assert.equal(
            await store.rotateSession(pending.id, {
              ...update,
              expectStatus: "pending",
              event: activated,
            }),
            true,
          );
          // No longer pending: nothing changes and the event is not written.
          const again = loginEvent({ sessionId: pending.id, type: "session_activated" });
          assert.equal(
            await store.rotateSession(pending.id, {
              ...update,
              expectStatus: "pending",
              event: again,
            }),
            false,
          );
          assert.deepEqual(await changesOf(store), [activated]);
          const before = await mustFind(store, pending.id);
          const clash = loginEvent({ id: activated.id, sessionId: pending.id });
          await assert.rejects(
            store.rotateSession(pending.id, {
              secretHash: hex64(),
              expectStatus: "active",
              event: clash,
            }),
            isStorageError,
          );
          assert.deepEqual(await store.findSession(pending.id), before);
        }));

      it("endUserSessions with eventFor writes one event per session it ended, given as ended", () =>
        withStore(async (store) => {
          const current = await seed(store);
          const other = await seed(store);
          const pending = await seed(store, { status: "pending" });
          const ended = await seed(store);
          await store.endSession(ended.id, revoked(T0 + 1));
          await seed(store, { userId: "user-b" });
          const seen: SessionRecord[] = [];
          const ids = await store.endUserSessions("user-a", revoked(T0 + MINUTE), {
            exceptId: current.id,
            eventFor: (record) => {
              seen.push(record);
              return loginEvent({
                sessionId: record.id,
                type: "session_revoked",
                createdAt: T0 + MINUTE,
              });
            },
          });
          assert.deepEqual([...ids].sort(), [other.id, pending.id].sort());
          assert.deepEqual(seen.map((r) => r.id).sort(), [...ids].sort());
          for (const r of seen) {
            assert.deepEqual(
              [r.status, r.endReason, r.endedAt],
              ["revoked", "revoked_by_user", T0 + MINUTE],
            );
            assert.equal(r.userId, "user-a");
          }
          const events = await changesOf(store);
          assert.deepEqual(events.map((e) => e.sessionId).sort(), [...ids].sort());
          // A second call ends nothing and writes nothing.
          const none = await store.endUserSessions("user-a", revoked(T0 + 2 * MINUTE), {
            exceptId: current.id,
            eventFor: () => assert.fail("no session left to end"),
          });
          assert.deepEqual(none, []);
        }));

      it("endUserSessions is atomic: a failing event insert ends nobody", () =>
        withStore(async (store) => {
          const a = await seed(store);
          const b = await seed(store);
          const taken = loginEvent();
          await store.recordEvent(taken);
          await assert.rejects(
            store.endUserSessions("user-a", revoked(T0 + 1), {
              eventFor: (record) => loginEvent({ id: taken.id, sessionId: record.id }),
            }),
            isStorageError,
          );
          assert.deepEqual(await store.findSession(a.id), a);
          assert.deepEqual(await store.findSession(b.id), b);
        }));
    });

    describe("recordEvent and listEvents", () => {
      it("lists a user's events newest first, every field intact, nobody else's", () =>
        withStore(async (store) => {
          const first = loginEvent({
            type: "sign_in_failed",
            reason: "invalid_credentials",
            createdAt: T0 + 1,
          });
          const full = loginEvent({
            type: "sign_in",
            sessionId: newId(),
            reason: "pending_verification",
            ip: "2001:db8::42",
            userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) 🍎",
            browserName: "Safari",
            browserVersion: "17.5",
            osName: "iOS",
            osVersion: "17.5",
            deviceType: "mobile",
            country: "NZ",
            region: "Wellington",
            city: "Wellington",
            createdAt: T0 + 3,
          });
          const middle = loginEvent({
            type: "sign_out",
            ip: null,
            userAgent: null,
            createdAt: T0 + 2,
          });
          for (const event of [first, full, middle]) await store.recordEvent(event);
          await store.recordEvent(loginEvent({ userId: "user-b", createdAt: T0 + 9 }));
          await store.recordEvent(
            loginEvent({ userId: null, type: "sign_in_failed", createdAt: T0 + 9 }),
          );

          assert.deepEqual(await store.listEvents("user-a", { limit: 10 }), [full, middle, first]);
          assert.deepEqual(await store.listEvents("user-a", { limit: 2 }), [full, middle]);
          assert.deepEqual(await store.listEvents("nobody", { limit: 10 }), []);
        }));
    });

    describe("listEventsPage and listSessionEvents (the history's pages)", () => {
      it("walks a user's events page by page by (time, id): ties in time, no repeat, no gap", () =>
        withStore(async (store) => {
          // Groups of three share a millisecond: the id must break the tie the same way each time.
          const types = ["sign_in", "sign_in_failed", "sign_out"];
          for (let i = 0; i < 24; i++)
            await store.recordEvent(
              loginEvent({ type: types[i % 3] as string, createdAt: T0 + Math.floor(i / 3) }),
            );
          await store.recordEvent(loginEvent({ userId: "user-b", createdAt: T0 + 5 }));
          const all = await store.listEvents("user-a", { limit: 100 });
          assert.equal(all.length, 24);
          const walked = [];
          let before = null;
          for (let page = 0; page < 10; page++) {
            const rows = await store.listEventsPage("user-a", { before, types: null, limit: 5 });
            walked.push(...rows);
            if (rows.length < 5) break;
            const last = rows[rows.length - 1] as (typeof rows)[number];
            before = { at: last.createdAt, id: last.id };
          }
          assert.deepEqual(walked, all, "the pages joined are the whole history, in order");
          // A position inside a tie: the rest of that millisecond comes first, then older ones.
          const mid = all[10] as (typeof all)[number];
          assert.deepEqual(
            await store.listEventsPage("user-a", {
              before: { at: mid.createdAt, id: mid.id },
              types: null,
              limit: 100,
            }),
            all.slice(11),
          );
          assert.deepEqual(
            await store.listEventsPage("nobody", { before: null, types: null, limit: 5 }),
            [],
          );
        }));

      it("filters by type before the limit, and an empty type list reads nothing", () =>
        withStore(async (store) => {
          for (let i = 0; i < 12; i++)
            await store.recordEvent(
              loginEvent({ type: i % 4 === 0 ? "password_changed" : "sign_in", createdAt: T0 + i }),
            );
          const changes = await store.listEventsPage("user-a", {
            before: null,
            types: ["password_changed", "session_locked"],
            limit: 2,
          });
          assert.deepEqual(
            changes.map((e) => [e.type, e.createdAt]),
            [
              ["password_changed", T0 + 8],
              ["password_changed", T0 + 4],
            ],
          );
          const older = await store.listEventsPage("user-a", {
            before: { at: T0 + 4, id: (changes[1] as (typeof changes)[number]).id },
            types: ["password_changed"],
            limit: 10,
          });
          assert.deepEqual(
            older.map((e) => e.createdAt),
            [T0],
          );
          assert.deepEqual(
            await store.listEventsPage("user-a", { before: null, types: [], limit: 5 }),
            [],
          );
        }));

      it("lists every event of the user's given sessions, newest first, nobody else's", () =>
        withStore(async (store) => {
          const [a, b, c] = [newId(), newId(), newId()];
          const own = [
            loginEvent({ sessionId: a, type: "sign_in", createdAt: T0 }),
            loginEvent({ sessionId: b, type: "sign_in", createdAt: T0 + 1 }),
            loginEvent({ sessionId: a, type: "session_revoked", createdAt: T0 + 2 * DAY }),
            loginEvent({ sessionId: c, type: "sign_in", createdAt: T0 + 3 }),
          ];
          for (const event of own) await store.recordEvent(event);
          // Another user's row naming the same session id is not this user's story.
          await store.recordEvent(
            loginEvent({ userId: "user-b", sessionId: a, createdAt: T0 + 5 }),
          );
          assert.deepEqual(await store.listSessionEvents("user-a", [a, b]), [
            own[2],
            own[1],
            own[0],
          ]);
          assert.deepEqual(await store.listSessionEvents("user-a", []), []);
          assert.deepEqual(await store.listSessionEvents("user-b", [b]), []);
        }));
    });

    describe("prune", () => {
      it("deletes long-ended, long-expired and long-idle sessions and old events, keeping the rest", () =>
        withStore(async (store) => {
          const cutoff = T0 + 30 * DAY;
          const endedLongAgo = await seed(store, { createdAt: T0 });
          await store.endSession(endedLongAgo.id, {
            status: "inactive",
            reason: "sign_out",
            endedAt: cutoff - 1,
          });
          const endedRecently = await seed(store, { createdAt: T0 });
          await store.endSession(endedRecently.id, {
            status: "revoked",
            reason: "revoked_by_user",
            endedAt: cutoff,
          });
          const deadByLifetime = await seed(store, {
            expiresAt: cutoff - 1,
            lastSeenAt: cutoff - 2,
          });
          const deadByIdle = await seed(store, {
            lastSeenAt: T0 + 10 * DAY - 1,
            expiresAt: T0 + 90 * DAY,
          });
          const live = await seed(store, { lastSeenAt: T0 + 10 * DAY, expiresAt: cutoff });
          // The five sign-in events above are stamped T0; one more just before and one at the event cutoff.
          const oldEvent = loginEvent({ type: "sign_in_failed", createdAt: T0 + 5 * DAY - 1 });
          const keptEvent = loginEvent({ type: "sign_in_failed", createdAt: T0 + 5 * DAY });
          await store.recordEvent(oldEvent);
          await store.recordEvent(keptEvent);

          const result = await store.prune({
            endedBefore: cutoff,
            expiredBefore: cutoff,
            idleBefore: T0 + 10 * DAY,
            eventsBefore: T0 + 5 * DAY,
          });
          assert.deepEqual(result, { sessions: 3, events: 6 });
          for (const gone of [endedLongAgo, deadByLifetime, deadByIdle])
            assert.equal(await store.findSession(gone.id), null);
          assert.equal((await mustFind(store, endedRecently.id)).status, "revoked");
          assert.deepEqual(await store.findSession(live.id), live);
          assert.deepEqual(await store.listEvents("user-a", { limit: 10 }), [keptEvent]);
          // Nothing left to prune: a second run deletes nothing.
          assert.deepEqual(
            await store.prune({
              endedBefore: cutoff,
              expiredBefore: cutoff,
              idleBefore: T0 + 10 * DAY,
              eventsBefore: T0 + 5 * DAY,
            }),
            { sessions: 0, events: 0 },
          );
        }));
    });

    describe("passkeys", () => {
      it("adds, lists (oldest first, per user), finds, renames, counts uses and removes", () =>
        withStore(async (store) => {
          const first = passkey({ createdAt: T0 });
          const second = passkey({ createdAt: T0 + 1, name: "Phone", transports: [] });
          const theirs = passkey({ userId: "user-b" });
          for (const p of [second, first, theirs]) await store.addPasskey(p);
          assert.deepEqual(await store.listPasskeys("user-a"), [first, second]);
          assert.deepEqual(await store.findPasskey(theirs.id), theirs);
          assert.equal(await store.findPasskey("cred-unknown"), null);

          assert.equal(
            await store.renamePasskey(first.id, { userId: "user-a", name: "Work" }),
            true,
          );
          assert.equal(
            await store.renamePasskey(first.id, { userId: "user-a", name: "Work" }),
            true,
          );
          assert.equal(
            await store.renamePasskey(theirs.id, { userId: "user-a", name: "Mine" }),
            false,
          );
          assert.equal((await store.findPasskey(theirs.id))?.name, "Laptop");

          assert.equal(
            await store.recordPasskeyUse(first.id, { counter: 7, usedAt: T0 + 9 }),
            true,
          );
          assert.deepEqual(await store.findPasskey(first.id), {
            ...first,
            name: "Work",
            counter: 7,
            lastUsedAt: T0 + 9,
          });

          assert.equal(await store.removePasskey(theirs.id, { userId: "user-a" }), false);
          assert.equal(await store.removePasskey(first.id, { userId: "user-a" }), true);
          assert.equal(await store.removePasskey(first.id, { userId: "user-a" }), false);
          assert.deepEqual(
            (await store.listPasskeys("user-a")).map((p) => p.id),
            [second.id],
          );
        }));

      it("refuses a credential id that is already registered", () =>
        withStore(async (store) => {
          const p = passkey();
          await store.addPasskey(p);
          await assert.rejects(store.addPasskey({ ...p, userId: "user-b" }), isStorageError);
        }));
    });

    describe("re-authentication state", () => {
      it("keeps only the newest unspent state per session and kind, spends it once, and not after it expires", () =>
        withStore(async (store) => {
          const older = reauthState("s1", { createdAt: T0 });
          const kept = reauthState("s1", {
            kind: "kept_post",
            path: "/account/security/ip-rules",
            data: "x".repeat(20_000),
          });
          const newer = reauthState("s1", { createdAt: T0 + 1 });
          const elsewhere = reauthState("s2");
          for (const state of [older, kept, newer, elsewhere]) await store.saveReauthState(state);

          // The newer challenge spent the older one; the kept post (another kind) is untouched.
          assert.deepEqual(await store.findReauthStates("s1", "passkey_get", T0 + 2), [newer]);
          assert.deepEqual(await store.findReauthStates("s1", "kept_post", T0 + 2), [kept]);
          assert.equal(await store.spendReauthState(older.id, T0 + 2), false);

          const [a, b] = await Promise.all([
            store.spendReauthState(newer.id, T0 + 2),
            store.spendReauthState(newer.id, T0 + 2),
          ]);
          assert.equal(Number(a) + Number(b), 1, "spent exactly once");
          assert.deepEqual(await store.findReauthStates("s1", "passkey_get", T0 + 2), []);

          // Expired: neither found nor spendable.
          assert.deepEqual(
            await store.findReauthStates("s2", "passkey_get", elsewhere.expiresAt),
            [],
          );
          assert.equal(await store.spendReauthState(elsewhere.id, elsewhere.expiresAt), false);
          assert.equal(await store.spendReauthState(kept.id, T0 + 3), true);

          // Prune drops states past expiredBefore.
          await store.prune({
            endedBefore: T0,
            expiredBefore: T0 + 10 * MINUTE,
            idleBefore: 0,
            eventsBefore: 0,
          });
          assert.deepEqual(await store.findReauthStates("s1", "kept_post", 0), []);
        }));
    });

    describe("session data and remember-me", () => {
      it("round-trip with the session: rememberMe false, and data up to 65535 bytes of UTF-8 JSON", () =>
        withStore(async (store) => {
          const small = await seed(store, {
            rememberMe: false,
            data: JSON.stringify({ cartId: "c-1", note: "Zürich 🏔 浏览器" }),
          });
          assert.deepEqual(await store.findSession(small.id), small);
          // The largest the keeper accepts (dataMaxBytes may be at most 65535): 4-byte characters included.
          const text = JSON.stringify({ blob: "🦊".repeat(16_000), pad: "" });
          const fill = 65_535 - Buffer.byteLength(text, "utf8");
          const largest = JSON.stringify({ blob: "🦊".repeat(16_000), pad: "x".repeat(fill) });
          assert.equal(Buffer.byteLength(largest, "utf8"), 65_535);
          const big = await seed(store, { data: largest });
          assert.deepEqual(await store.findSession(big.id), big);
          // And in a user's list.
          const listed = await store.listUserSessions("user-a", { includeEnded: false, limit: 10 });
          assert.deepEqual(
            listed.find((r) => r.id === small.id),
            small,
          );
        }));

      it("updateSessionData replaces the data of an active session and nothing else; null clears it", () =>
        withStore(async (store) => {
          const record = await seed(store, { rememberMe: false, data: '{"v":1}' });
          assert.equal(await store.updateSessionData(record.id, { data: '{"v":2}' }), true);
          assert.deepEqual(await store.findSession(record.id), { ...record, data: '{"v":2}' });
          assert.equal(await store.updateSessionData(record.id, { data: null }), true);
          assert.deepEqual(await store.findSession(record.id), { ...record, data: null });
        }));

      it("updateSessionData refuses a pending, ended or unknown session and changes nothing", () =>
        withStore(async (store) => {
          const pending = await seed(store, { status: "pending", data: '{"v":1}' });
          assert.equal(await store.updateSessionData(pending.id, { data: '{"v":2}' }), false);
          assert.deepEqual(await store.findSession(pending.id), pending);
          const ended = await seed(store, { data: '{"v":1}' });
          await store.endSession(ended.id, revoked(T0 + 1));
          const before = await mustFind(store, ended.id);
          assert.equal(await store.updateSessionData(ended.id, { data: '{"v":2}' }), false);
          assert.deepEqual(await store.findSession(ended.id), before);
          assert.equal(await store.updateSessionData(newId(), { data: "{}" }), false);
        }));

      it("rotation, activation and touches keep the data and the remember-me choice", () =>
        withStore(async (store) => {
          const data = '{"cartId":"c-1"}';
          const active = await seed(store, { rememberMe: false, data });
          const pending = await seed(store, { status: "pending", rememberMe: false, data });
          const secretHash = hex64();
          await store.rotateSession(active.id, { secretHash, expectStatus: "active" });
          await store.rotateSession(pending.id, {
            secretHash,
            status: "active",
            expectStatus: "pending",
          });
          await store.touchSession(active.id, {
            lastSeenAt: T0 + MINUTE,
            lastIp: "192.0.2.1",
            previousLastSeenAt: T0,
          });
          for (const id of [active.id, pending.id]) {
            const found = await mustFind(store, id);
            assert.deepEqual([found.rememberMe, found.data], [false, data]);
          }
        }));
    });

    // Each write after a lookup, then the same lookup again: a store with a cache layer must have
    // dropped (or updated) the copy the first lookup kept, for every write path.
    describe("a lookup after each write sees the write", () => {
      it("touchSession: the new last-seen time, IP and place", () =>
        withStore(async (store) => {
          const record = await seed(store);
          await mustFind(store, record.id);
          const place = { country: "JP", region: null, city: "Ōsaka" };
          const update = { lastSeenAt: T0 + MINUTE, lastIp: "192.0.2.7", previousLastSeenAt: T0 };
          assert.equal(await store.touchSession(record.id, { ...update, location: place }), true);
          const expected = { ...record, lastSeenAt: T0 + MINUTE, lastIp: "192.0.2.7", ...place };
          assert.deepEqual(await store.findSession(record.id), expected);
          // A touch that lost the race changes nothing, and the next lookup still sees the row.
          assert.equal(await store.touchSession(record.id, update), false);
          assert.deepEqual(await store.findSession(record.id), expected);
        }));

      it("rotateSession: the new secret hash, and a pending session activated", () =>
        withStore(async (store) => {
          const record = await seed(store);
          const pending = await seed(store, { status: "pending" });
          await mustFind(store, record.id);
          await mustFind(store, pending.id);
          const secretHash = hex64();
          await store.rotateSession(record.id, { secretHash, expectStatus: "active" });
          assert.equal((await mustFind(store, record.id)).secretHash, secretHash);
          await store.rotateSession(pending.id, {
            secretHash,
            status: "active",
            expectStatus: "pending",
          });
          assert.equal((await mustFind(store, pending.id)).status, "active");
        }));

      it("updateSessionData: the new data", () =>
        withStore(async (store) => {
          const record = await seed(store, { data: '{"v":1}' });
          await mustFind(store, record.id);
          await store.updateSessionData(record.id, { data: '{"v":2}' });
          assert.equal((await mustFind(store, record.id)).data, '{"v":2}');
        }));

      it("renameSession: the new name, and the name cleared", () =>
        withStore(async (store) => {
          const record = await seed(store);
          await mustFind(store, record.id);
          await store.renameSession(record.id, { userId: record.userId, name: "Work laptop" });
          assert.equal((await mustFind(store, record.id)).name, "Work laptop");
          await store.renameSession(record.id, { userId: record.userId, name: null });
          assert.equal((await mustFind(store, record.id)).name, null);
        }));

      it("endSession: the session ended, with and without userId", () =>
        withStore(async (store) => {
          const a = await seed(store);
          const b = await seed(store);
          await mustFind(store, a.id);
          await mustFind(store, b.id);
          await store.endSession(a.id, revoked(T0 + 1));
          await store.endSession(b.id, revoked(T0 + 1), { userId: b.userId });
          assert.equal((await mustFind(store, a.id)).status, "revoked");
          assert.equal((await mustFind(store, b.id)).status, "revoked");
        }));

      it("endUserSessions: every session it ended, the kept one unchanged", () =>
        withStore(async (store) => {
          const kept = await seed(store);
          const others = [await seed(store), await seed(store, { status: "pending" })];
          for (const s of [kept, ...others]) await mustFind(store, s.id);
          await store.endUserSessions("user-a", revoked(T0 + 1), { exceptId: kept.id });
          for (const s of others) assert.equal((await mustFind(store, s.id)).status, "revoked");
          assert.deepEqual(await store.findSession(kept.id), kept);
          await store.endUserSessions("user-a", revoked(T0 + 2));
          assert.equal((await mustFind(store, kept.id)).status, "revoked");
        }));

      it("prune: a live session it deleted is gone", () =>
        withStore(async (store) => {
          const idle = await seed(store, { lastSeenAt: T0, expiresAt: T0 + 90 * DAY });
          await mustFind(store, idle.id);
          const cutoff = T0 + 30 * DAY;
          await store.prune({
            endedBefore: cutoff,
            expiredBefore: cutoff,
            idleBefore: T0 + 1,
            eventsBefore: T0,
          });
          assert.equal(await store.findSession(idle.id), null);
        }));

      it("migrate: sessions are still found as stored", () =>
        withStore(async (store) => {
          const record = await seed(store);
          await mustFind(store, record.id);
          await store.migrate();
          assert.deepEqual(await store.findSession(record.id), record);
        }));
    });

    describe("close", () => {
      it("fails closed afterwards: a lookup rejects with a StorageError rather than answering", () =>
        withStore(async (store) => {
          const record = await seed(store);
          // Found once first, so a cache layer holds it: that copy must not answer either.
          await mustFind(store, record.id);
          await store.close();
          // A synchronous store may throw at once rather than reject: both are a failure.
          await assert.rejects(async () => store.findSession(record.id), isStorageError);
        }));
    });
  });
}
