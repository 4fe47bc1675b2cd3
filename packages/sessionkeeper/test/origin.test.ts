import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isSameOriginRequest, isUnsafeMethod } from "../src/origin.js";

const HOST = "app.example:8443";

describe("origin check", () => {
  it("lets safe methods through whatever their headers say", () => {
    for (const method of ["GET", "HEAD", "OPTIONS", "get", "head"]) {
      assert.equal(isUnsafeMethod(method), false);
      assert.equal(
        isSameOriginRequest(method, {
          secFetchSite: "cross-site",
          origin: "https://evil.example",
          host: HOST,
        }),
        true,
      );
    }
  });

  it("treats POST, PUT, PATCH, DELETE and unknown methods as unsafe, in any case", () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "post", "PROPFIND"])
      assert.equal(isUnsafeMethod(method), true, method);
  });

  it("decides by Sec-Fetch-Site when present: same-origin and none pass, anything else fails", () => {
    const verdict = (site: string, origin: string | null = null) =>
      isSameOriginRequest("POST", { secFetchSite: site, origin, host: HOST });
    assert.equal(verdict("same-origin"), true);
    assert.equal(verdict("none"), true);
    assert.equal(verdict(" Same-Origin "), true);
    assert.equal(verdict("same-site"), false, "a sibling subdomain is another origin");
    assert.equal(verdict("cross-site"), false);
    assert.equal(
      verdict("cross-site", `https://${HOST}`),
      false,
      "a matching Origin does not rescue cross-site",
    );
    assert.equal(verdict("garbage"), false);
  });

  it("otherwise requires Origin, when present, to name this host and port", () => {
    const verdict = (origin: string, host: string | null = HOST) =>
      isSameOriginRequest("DELETE", { origin, host });
    assert.equal(verdict(`https://${HOST}`), true);
    assert.equal(verdict("HTTPS://APP.EXAMPLE:8443"), true);
    assert.equal(verdict("https://app.example:8443", "APP.example:8443"), true);
    assert.equal(verdict("https://evil.example"), false);
    assert.equal(verdict("https://app.example"), false, "another port is another origin");
    assert.equal(verdict("https://app.example:8443.evil.example"), false);
    assert.equal(verdict("https://evil.example/app.example:8443"), false);
    assert.equal(verdict("null"), false, "opaque origins (sandboxed frames, file:) are refused");
    assert.equal(verdict("not a url"), false);
    assert.equal(verdict(`https://${HOST}`, null), false, "no Host to compare with");
  });

  it("passes a request with neither header: a non-browser client", () => {
    assert.equal(isSameOriginRequest("POST", { host: HOST }), true);
    assert.equal(isSameOriginRequest("POST", { secFetchSite: "", origin: "", host: HOST }), true);
    assert.equal(isSameOriginRequest("POST", {}), true);
  });
});
