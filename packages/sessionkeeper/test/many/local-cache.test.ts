import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LocalSessionCache } from "../../src/cache/local-cache.js";
import type { SessionRecord } from "../../src/types.js";
import { sessionRecord } from "../helpers/records.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function record(id: string, status: SessionRecord["status"] = "active"): SessionRecord {
  return sessionRecord({ id, status, createdAt: 1, lastSeenAt: 1, expiresAt: 2 });
}

// Lookups follow the engine's order: get (a miss), read the database, set what was read.
describe("local session cache", () => {
  it("serves a record read after a miss, as a copy the caller cannot corrupt", () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 10, maxReadTime: 60_000 });
    assert.equal(cache.get("a"), null);
    cache.set(record("a"));
    const first = cache.get("a");
    assert.equal(first?.id, "a");
    (first as SessionRecord).status = "revoked";
    assert.equal(cache.get("a")?.status, "active");
  });

  it("ignores a set that no miss asked for", () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 10, maxReadTime: 60_000 });
    cache.set(record("a"));
    assert.equal(cache.get("a"), null);
  });

  it("never stores a read that raced a revocation, even when a later lookup missed again", () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 10, maxReadTime: 60_000 });
    assert.equal(cache.get("a"), null); // request 1 misses and starts reading: the row is still active
    cache.drop(["a"]); // another instance revokes it
    assert.equal(cache.get("a"), null); // request 2 misses (it will read "revoked" and store nothing)
    cache.set(record("a")); // request 1's stale read arrives
    assert.equal(cache.get("a"), null, "the revoked session must not be served from memory");
  });

  it("stores nothing read before a clear: a lookup in flight during an outage cannot bring a session back", () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 10, maxReadTime: 60_000 });
    assert.equal(cache.get("a"), null);
    cache.clear();
    assert.equal(cache.get("a"), null);
    cache.set(record("a"));
    assert.equal(cache.get("a"), null);
  });

  it("caches a dropped id again once the longest read is over", async () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 10, maxReadTime: 30 });
    cache.drop(["a"]);
    await sleep(60);
    assert.equal(cache.get("a"), null);
    cache.set(record("a"));
    assert.equal(cache.get("a")?.id, "a");
  });

  it("reads again after the ttl", async () => {
    const cache = new LocalSessionCache({ ttl: 30, maxEntries: 10, maxReadTime: 60_000 });
    cache.get("a");
    cache.set(record("a"));
    assert.ok(cache.get("a"));
    await sleep(60);
    assert.equal(cache.get("a"), null);
  });

  it("keeps at most maxEntries, evicting the least recently used", () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 2, maxReadTime: 60_000 });
    for (const id of ["a", "b"]) {
      cache.get(id);
      cache.set(record(id));
    }
    cache.get("a"); // a is now more recent than b
    cache.get("c");
    cache.set(record("c"));
    assert.equal(cache.size, 2);
    assert.ok(cache.get("a"));
    assert.ok(cache.get("c"));
    assert.equal(cache.get("b"), null);
  });

  it("stays bounded under a flood of unknown ids and drops", () => {
    const cache = new LocalSessionCache({ ttl: 60_000, maxEntries: 100, maxReadTime: 60_000 });
    for (let i = 0; i < 10_000; i++) {
      cache.get(`miss-${i}`);
      cache.drop([`drop-${i}`]);
    }
    assert.ok(cache.size <= 100);
    // Overflowing the drops cleared everything: the oldest drop is still never served.
    cache.get("drop-0");
    cache.set(record("drop-0"));
    assert.equal(cache.get("drop-0"), null);
  });
});
