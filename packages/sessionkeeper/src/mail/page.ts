import { html, type SafeHtml } from "../html.js";

/** A rendered page and the headers it must be served with: `res.status(p.status).set(p.headers).send(p.body)`. */
export interface HtmlPage {
  status: number;
  headers: Record<string, string>;
  body: string;
}

// No script at all; pages carry only inline styles, forms post to this site, nothing frames them
// and no Referer leaves (link pages hold a token in their URL).
const HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "text/html; charset=utf-8",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
});

const STYLE = html`<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2230}
main{max-width:46rem;margin:2rem auto;padding:0 1rem}
.card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{color:#5b6474}dd{margin:0;overflow-wrap:anywhere}
button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid #2456c7;background:#2f6bf0;color:#fff;cursor:pointer}
button.danger{background:#c73535;border-color:#a52a2a}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f0f2f5;padding:.75rem;border-radius:6px}
iframe{width:100%;min-height:20rem;border:1px solid #dde1e8;background:#fff}
</style>`;

/** Wraps escaped content in a small standalone document with the headers above. */
export function htmlPage(title: string, content: SafeHtml, status = 200): HtmlPage {
  const body = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
${STYLE}
</head>
<body><main>
${content}
</main></body>
</html>
`;
  return { status, headers: { ...HEADERS }, body: body.toString() };
}
