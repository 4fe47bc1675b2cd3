import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cacheClock } from "../../src/clock.js";
import { LocalSessionCache } from "../../src/storage/local-cache.js";
import type { SessionRecord } from "../../src/types.js";
import { sessionRecord } from "../helpers/records.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function record(id: string, status: SessionRecord["status"] = "active"): SessionRecord {
  return sessionRecord({ id, status, createdAt: 1, lastSeenAt: 1, expiresAt: 2 });
}

// Lookups follow the engine's order: note the time, get (a miss), read the database, set what was
// read with the time the read began.
describe("local session cache", () => {
  it("serves a record read after a miss, frozen so that no caller can corrupt it", () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 10, maxReadTime: 60_000 });
    const started = cacheClock();
    assert.equal(cache.get("a"), null);
    cache.set(record("a"), started);
    const first = cache.get("a");
    assert.equal(first?.id, "a");
    assert.throws(() => {
      (first as SessionRecord).status = "revoked";
    }, TypeError);
    assert.equal(cache.get("a")?.status, "active");
  });

  it("never stores a read that raced a revocation, even when a later lookup missed again", () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 10, maxReadTime: 60_000 });
    const first = cacheClock(); // request 1 misses and starts reading: the row is still active
    assert.equal(cache.get("a"), null);
    cache.drop(["a"]); // another instance revokes it
    assert.equal(cache.get("a"), null); // request 2 misses (it will read "revoked" and store nothing)
    cache.set(record("a"), first); // request 1's stale read arrives
    assert.equal(cache.get("a"), null, "the revoked session must not be served from memory");
  });

  it("stores a read that began after the drop at once", () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 10, maxReadTime: 60_000 });
    cache.drop(["a"]);
    const after = cacheClock() + 0.001;
    cache.set(record("a"), after);
    assert.equal(cache.get("a")?.id, "a");
  });

  it("stores nothing read before a clear: a lookup in flight during an outage cannot bring a session back", () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 10, maxReadTime: 60_000 });
    const before = cacheClock();
    cache.clear();
    cache.set(record("a"), before);
    assert.equal(cache.get("a"), null);
    // A read that began after the clear is trusted straight away: no blackout after start-up.
    cache.set(record("b"), cacheClock() + 0.001);
    assert.equal(cache.get("b")?.id, "b");
  });

  it("refuses a read older than maxReadTime, whose drop it may have forgotten", async () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 10, maxReadTime: 30 });
    const started = cacheClock();
    cache.drop(["a"]);
    await sleep(60);
    cache.set(record("a"), started);
    assert.equal(cache.get("a"), null);
    cache.set(record("a"), cacheClock());
    assert.equal(cache.get("a")?.id, "a");
  });

  it("reads again after the ttl", async () => {
    const cache = new LocalSessionCache({ ttl: 30, maxEntries: 10, maxReadTime: 60_000 });
    cache.set(record("a"), cacheClock());
    assert.ok(cache.get("a"));
    await sleep(60);
    assert.equal(cache.get("a"), null);
  });

  it("keeps at most maxEntries, evicting the least recently used", () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 2, maxReadTime: 60_000 });
    for (const id of ["a", "b"]) cache.set(record(id), cacheClock());
    cache.get("a"); // a is now more recent than b
    cache.set(record("c"), cacheClock());
    assert.equal(cache.size, 2);
    assert.ok(cache.get("a"));
    assert.ok(cache.get("c"));
    assert.equal(cache.get("b"), null);
  });

  it("keeps an entry used within the last maxEntries/2 insertions however many follow", () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 100, maxReadTime: 60_000 });
    cache.set(record("hot"), cacheClock());
    for (let i = 0; i < 1000; i++) {
      cache.set(record(`cold${i}`), cacheClock());
      // Used every 40 insertions: it must survive 1,000 insertions into a cache of 100.
      if (i % 40 === 0) assert.ok(cache.get("hot"), `evicted after ${i} insertions`);
    }
    assert.equal(cache.size, 100);
    assert.ok(cache.get("hot"));
    assert.equal(cache.get("cold0"), null);
  });

  it("stays bounded under a flood of drops, and still never serves a dropped id", () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 100, maxReadTime: 60_000 });
    const started = cacheClock();
    for (let i = 0; i < 10_000; i++) cache.drop([`drop-${i}`]);
    assert.ok(cache.size <= 100);
    // Overflowing the drops cleared everything: the oldest drop's stale read is still refused.
    cache.set(record("drop-0"), started);
    assert.equal(cache.get("drop-0"), null);
  });
  it("applies this instance's touch to the copy it was based on, and forgets any other copy", () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 10, maxReadTime: 60_000 });
    const original = record("a");
    cache.set(original, cacheClock());
    const seenAt = original.lastSeenAt;
    const place = { country: "JP", region: null, city: "Kyoto" };
    cache.touch("a", {
      lastSeenAt: seenAt + 1,
      lastIp: "192.0.2.1",
      previousLastSeenAt: seenAt,
      location: place,
    });
    assert.deepEqual(cache.get("a"), {
      ...original,
      lastSeenAt: seenAt + 1,
      lastIp: "192.0.2.1",
      ...place,
    });
    // Based on another copy (or a touch that changed nothing): forgotten, never stored anew.
    cache.touch("a", { lastSeenAt: seenAt + 2, lastIp: "192.0.2.1", previousLastSeenAt: seenAt });
    assert.equal(cache.get("a"), null);
    cache.touch("b", { lastSeenAt: 1, lastIp: "192.0.2.1", previousLastSeenAt: 0 });
    cache.touch("b", null);
    assert.equal(cache.size, 0);
  });
});
