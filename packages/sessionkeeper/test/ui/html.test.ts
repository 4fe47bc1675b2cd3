import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { escapeHtml, html, SafeHtml } from "../../src/html.js";

describe("html template", () => {
  it("escapes & < > \" ' and backtick in every interpolated value", () => {
    const value = `<script>alert("x" + 'y' + \`z\`)</script> & more`;
    assert.equal(
      html`<p title="${value}">${value}</p>`.toString(),
      '<p title="&lt;script&gt;alert(&quot;x&quot; + &#39;y&#39; + &#96;z&#96;)&lt;/script&gt; &amp; more">' +
        "&lt;script&gt;alert(&quot;x&quot; + &#39;y&#39; + &#96;z&#96;)&lt;/script&gt; &amp; more</p>",
    );
    assert.equal(
      escapeHtml(`"><img src=x onerror=alert(1)>`),
      "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
    );
  });

  it("inserts its own results as markup, joins arrays, and renders nothing for null, undefined and false", () => {
    const items = ["<a>", "b&"].map((t) => html`<li>${t}</li>`);
    assert.equal(html`<ul>${items}</ul>`.toString(), "<ul><li>&lt;a&gt;</li><li>b&amp;</li></ul>");
    assert.equal(
      html`${null}${undefined}${false}|${0}|${["<", html`<br>`]}`.toString(),
      "|0|&lt;<br>",
    );
  });

  it("treats look-alikes of its output as text: only html`` mints SafeHtml", () => {
    const fake = { toString: () => "<b>bold</b>" } as unknown as string;
    assert.equal(html`${fake}`.toString(), "&lt;b&gt;bold&lt;/b&gt;");
    assert.throws(() => new SafeHtml(Symbol("sessionkeeper.SafeHtml"), "<b>"), TypeError);
    assert.ok(html`x` instanceof SafeHtml);
  });
});
