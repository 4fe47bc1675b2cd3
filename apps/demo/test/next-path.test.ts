import assert from "node:assert/strict";
import { it } from "node:test";
import { safeNextPath } from "../src/next-path.js";

it("honours same-site paths only for ?next=", () => {
  assert.equal(safeNextPath("/account/history?x=1"), "/account/history?x=1");
  for (const bad of [
    "//evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/\t/evil.example",
    "evil",
    "",
    "/%0a",
    "/a\\b",
  ]) {
    const out = safeNextPath(bad);
    assert.ok(out.startsWith("/") && !out.startsWith("//"), `${JSON.stringify(bad)} → ${out}`);
    assert.ok(
      !out.includes("evil.example") || out === "/account/sessions",
      `${JSON.stringify(bad)} must not leave the site`,
    );
  }
  assert.equal(safeNextPath("//evil.example"), "/account/sessions");
  assert.equal(safeNextPath(42), "/account/sessions");
});
