/**
 * Where to go after sign-in: only a same-site path. Refuses `//host`, `/\host`, schemes, control
 * characters and anything long, falling back to the devices page.
 */
export function safeNextPath(value: unknown, fallback = "/account/sessions"): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 512) return fallback;
  if (!value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return fallback;
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return fallback;
  try {
    // Resolve against a dummy origin: a path that escapes it is not a local path.
    const url = new URL(value, "http://local.invalid");
    if (url.origin !== "http://local.invalid") return fallback;
    return url.pathname + url.search + url.hash;
  } catch {
    return fallback;
  }
}
