import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  isValidCookieName,
  readCookieValues,
  readSingleCookie,
  serializeCookie,
} from "../src/cookies.js";

describe("serializeCookie", () => {
  it("writes Path=/, HttpOnly and SameSite=Lax by default, and never a Domain", () => {
    assert.equal(
      serializeCookie("sk_session", "abc.def", { secure: false }),
      "sk_session=abc.def; Path=/; HttpOnly; SameSite=Lax",
    );
    const secure = serializeCookie("__Host-sk_session", "abc", { secure: true, maxAge: 3600 });
    assert.equal(
      secure,
      "__Host-sk_session=abc; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax",
    );
    assert.doesNotMatch(secure, /domain/i);
  });

  it("clears with Max-Age=0 and an Expires in the past", () => {
    assert.equal(
      serializeCookie("sk_session", "", { secure: false, maxAge: 0 }),
      "sk_session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax",
    );
  });

  it("floors fractional and clamps negative Max-Age", () => {
    assert.match(serializeCookie("a", "b", { secure: false, maxAge: 59.9 }), /; Max-Age=59;/);
    assert.match(
      serializeCookie("a", "b", { secure: false, maxAge: -5 }),
      /; Max-Age=0; Expires=Thu, 01 Jan 1970/,
    );
  });

  it("honours SameSite=Strict and httpOnly: false when asked", () => {
    assert.equal(
      serializeCookie("a", "b", { secure: false, sameSite: "Strict", httpOnly: false }),
      "a=b; Path=/; SameSite=Strict",
    );
  });

  it("refuses names and values that could inject attributes or headers", () => {
    for (const name of ["", "a b", "a;b", "a=b", "a,b", "a\r\nSet-Cookie: x", "é"]) {
      assert.throws(
        () => serializeCookie(name, "v", { secure: false }),
        TypeError,
        JSON.stringify(name),
      );
    }
    for (const value of ["a;Domain=evil.example", "a b", "a=b", "a,b", "a\nb", '"a"', "a%3B"]) {
      assert.throws(
        () => serializeCookie("n", value, { secure: false }),
        TypeError,
        JSON.stringify(value),
      );
    }
  });
});

describe("reading cookies", () => {
  it("finds a cookie among others, trimming whitespace and dropping quotes", () => {
    const header = 'theme=dark;sk_session=abc.def ;  other=1; quoted="q.v"';
    assert.deepEqual(readCookieValues(header, "sk_session"), ["abc.def"]);
    assert.equal(readSingleCookie(header, "quoted"), "q.v");
    assert.equal(readSingleCookie(header, "theme"), "dark");
  });

  it("matches the exact name only", () => {
    const header = "sk_session2=a; xsk_session=b; SK_SESSION=c; sk_session_x=d";
    assert.equal(readSingleCookie(header, "sk_session"), null);
  });

  it("returns the raw value without %-decoding, so bad escapes cannot throw", () => {
    assert.equal(readSingleCookie("sk_session=%E0%A4%A", "sk_session"), "%E0%A4%A");
    assert.equal(readSingleCookie("sk_session=%", "sk_session"), "%");
  });

  it("trusts neither value when a name appears twice (a planted cookie)", () => {
    assert.deepEqual(readCookieValues("sk_session=a; sk_session=b", "sk_session"), ["a", "b"]);
    assert.equal(readSingleCookie("sk_session=a; sk_session=b", "sk_session"), null);
    assert.equal(readSingleCookie("sk_session=a; sk_session=a", "sk_session"), null);
  });

  it("answers nothing for absent, empty and malformed headers", () => {
    for (const header of [null, undefined, "", ";;;", "=", "sk_session", "=sk_session"]) {
      assert.equal(readSingleCookie(header, "sk_session"), null, String(header));
    }
    assert.equal(readSingleCookie("sk_session=", "sk_session"), "");
  });

  it("does not scan past 16 KB of header", () => {
    const header = `pad=${"x".repeat(20_000)}; sk_session=late`;
    assert.equal(readSingleCookie(header, "sk_session"), null);
    assert.equal(
      readSingleCookie(`sk_session=early; pad=${"x".repeat(20_000)}`, "sk_session"),
      "early",
    );
  });

  it("validates cookie names", () => {
    assert.equal(isValidCookieName("sk_session"), true);
    assert.equal(isValidCookieName("a b"), false);
    assert.equal(isValidCookieName(""), false);
  });
});

describe("readSingleCookie", () => {
  it("answers exactly as readCookieValues does, on random hostile headers", () => {
    // Built from the characters that matter to the parser: separators, quotes, whitespace of
    // every kind String.prototype.trim knows, and pieces of the cookie's own name.
    const pieces = [
      "sk_session",
      "sk",
      "_session",
      "=",
      ";",
      " ",
      "\t",
      '"',
      "\u00a0",
      "\ufeff",
      "\u2003",
      "a",
      "Zz9",
      "sk_session=",
      "; sk_session=",
      "x.y",
      "%3B",
      "",
    ];
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 20_000; i++) {
      let header = "";
      const length = random(12);
      for (let j = 0; j < length; j++) header += pieces[random(pieces.length)];
      const values = readCookieValues(header, "sk_session");
      const expected = values.length === 1 ? values[0] : null;
      assert.equal(readSingleCookie(header, "sk_session"), expected, JSON.stringify(header));
    }
  });

  it("reads the one value, and refuses a name that appears twice", () => {
    assert.equal(readSingleCookie("a=1; sk_session=abc.def ; b=2", "sk_session"), "abc.def");
    assert.equal(readSingleCookie('sk_session="abc"', "sk_session"), "abc");
    assert.equal(readSingleCookie("sk_session=a; sk_session=b", "sk_session"), null);
    assert.equal(readSingleCookie("xsk_session=a; sk_sessionx=b", "sk_session"), null);
    assert.equal(readSingleCookie(undefined, "sk_session"), null);
  });
});
