const BASE = "http://local.invalid";

// Never in a path we redirect to: backslashes (browsers read them as slashes), whitespace, control,
// invisible and bidi characters (\p{C}: C0, C1, format characters such as U+200B or U+202E, lone
// surrogates, private use).
const FORBIDDEN = /[\\\s\p{C}]/u;
// …nor their percent-encoded forms in the path: %2F and %5C (a server or proxy that decodes them
// turns "/%2F/host" into "//host") and encoded controls.
const ENCODED_FORBIDDEN = /%(?:2f|5c|[01][0-9a-f]|7f)/i;

/** A path that stays on this site: exactly one leading "/", nothing a browser reads as a host. */
function isLocalPath(path: string, pathname: string): boolean {
  return (
    path.startsWith("/") &&
    !path.startsWith("//") &&
    !path.startsWith("/\\") &&
    !FORBIDDEN.test(path) &&
    !ENCODED_FORBIDDEN.test(pathname)
  );
}

/** The path part of a relative reference: before any "?" or "#". */
function pathPart(value: string): string {
  return value.split(/[?#]/, 1)[0] ?? "";
}

/**
 * Where to go after sign-in: only a same-site path, else `fallback` (the devices page).
 *
 * Both what was given and what is returned are checked: the returned value is the URL's path after
 * dot segments are resolved, and resolving can turn a path that starts with one slash into one
 * that starts with two ("/.//host", "/..//host", "/%2e%2e//host" all become "//host", which a
 * browser follows to another site).
 */
export function safeNextPath(value: unknown, fallback = "/account/sessions"): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 512) return fallback;
  if (!isLocalPath(value, pathPart(value))) return fallback;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return fallback;
  }
  if (url.origin !== BASE) return fallback;
  const result = url.pathname + url.search + url.hash;
  return isLocalPath(result, url.pathname) ? result : fallback;
}
