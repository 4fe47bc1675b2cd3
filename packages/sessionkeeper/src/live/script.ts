import { createHash } from "node:crypto";

/**
 * The page side of the live stream, inline and allowed by its hash (no `unsafe-inline`). It reads
 * the stream URL and the sign-in path from `<meta name="sessionkeeper-live">`, and when the stream
 * says `ended` goes to the sign-in page with `?ended=<reason>` (a code, shown there as fixed words:
 * a URL anyone can craft must not carry text to show). A stream that was open once and is then
 * refused when it reconnects (401: the session ended while the server was away) reloads the page,
 * which then asks to sign in; one that never opened (a wrong path) does nothing, so no reload loop.
 */
export const LIVE_SCRIPT = `(function(){var m=document.querySelector('meta[name="sessionkeeper-live"]');if(!m||!window.EventSource)return;var s=new EventSource(m.content),gone=false,was=false;s.onopen=function(){was=true};s.addEventListener("ended",function(e){var r="signed_out";try{r=JSON.parse(e.data).reason||r}catch(x){}gone=true;s.close();location.assign(m.getAttribute("data-signin")+"?ended="+encodeURIComponent(r))});s.onerror=function(){if(was&&!gone&&s.readyState===2)location.reload()}})();`;

/** The CSP source that admits {@link LIVE_SCRIPT}. */
export const LIVE_SCRIPT_HASH = `'sha256-${createHash("sha256").update(LIVE_SCRIPT).digest("base64")}'`;

/**
 * The verify page's side of the stream (a sign-in held for new-device verification), inline and
 * allowed by its hash. It reads the stream URL, the continue URL and the sign-in path from
 * `<meta name="sessionkeeper-pending">`. `approved` (by the code, the emailed link or another
 * device): go to the continue URL, which completes the sign-in with a new token. `ended` (refused
 * as "this wasn't me", expired): go to the sign-in page with `?ended=<reason>`. A stream that was
 * open and is then refused (the session changed while the server was away) reloads the page,
 * which then shows where things stand. Submitting a form of the page (the code) closes the stream
 * first: that request completes the sign-in itself, and a navigation of the script's must not
 * race it. Without JavaScript the page's Continue button does what `approved` does.
 */
export const PENDING_SCRIPT = `(function(){var m=document.querySelector('meta[name="sessionkeeper-pending"]');if(!m||!window.EventSource)return;var s=new EventSource(m.content),gone=false,was=false;s.onopen=function(){was=true};s.addEventListener("approved",function(){gone=true;s.close();location.assign(m.getAttribute("data-continue"))});s.addEventListener("ended",function(e){var r="signed_out";try{r=JSON.parse(e.data).reason||r}catch(x){}gone=true;s.close();location.assign(m.getAttribute("data-signin")+"?ended="+encodeURIComponent(r))});s.onerror=function(){if(was&&!gone&&s.readyState===2)location.reload()};document.addEventListener("submit",function(){gone=true;s.close()})})();`;

/** The CSP source that admits {@link PENDING_SCRIPT}. */
export const PENDING_SCRIPT_HASH = `'sha256-${createHash("sha256").update(PENDING_SCRIPT).digest("base64")}'`;

/**
 * Shows every `<time datetime>` in the reader's own time zone and locale: the title of each (the
 * exact time on hover), the text of those marked `data-absolute`, and the clock time of those
 * marked `data-clock` (a folded run's "between 23:41 and 23:42"). Without JavaScript the
 * server's text stays (UTC, or the pages' `timeZone`). Inline at the end of the page, by hash.
 * It also turns a form marked `data-sk-confirm="<dialog id>"` (the GET that opens a page asking
 * "are you sure?") into that question in a modal `<dialog>` on the same page: one script per page
 * keeps the CSP to the hashes it already lists. Without JavaScript the form still opens the page.
 */
export const LOCAL_TIME_SCRIPT = `(function(){document.querySelectorAll("form[data-sk-confirm]").forEach(function(g){var d=document.getElementById(g.getAttribute("data-sk-confirm"));if(!d||typeof d.showModal!=="function")return;g.addEventListener("submit",function(e){e.preventDefault();d.showModal()})});var f=new Intl.DateTimeFormat(undefined,{dateStyle:"medium",timeStyle:"short"}),c=new Intl.DateTimeFormat(undefined,{timeStyle:"short"});document.querySelectorAll("time[datetime]").forEach(function(t){var d=new Date(t.getAttribute("datetime"));if(isNaN(d.getTime()))return;var s=f.format(d);t.title=s;if(t.hasAttribute("data-absolute"))t.textContent=s;else if(t.hasAttribute("data-clock"))t.textContent=c.format(d)})})();`;

/** The CSP source that admits {@link LOCAL_TIME_SCRIPT}. */
export const LOCAL_TIME_SCRIPT_HASH = `'sha256-${createHash("sha256").update(LOCAL_TIME_SCRIPT).digest("base64")}'`;
