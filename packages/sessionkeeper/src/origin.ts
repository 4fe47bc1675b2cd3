const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

export function isUnsafeMethod(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

/**
 * Cross-site request forgery check for unsafe methods. `Sec-Fetch-Site`, when present, must be
 * `same-origin` or `none`; otherwise `Origin`, when present, must name this host. A request with
 * neither comes from a non-browser client (browsers send one of them on every unsafe request) and passes.
 */
export function isSameOriginRequest(
  method: string,
  headers: { secFetchSite?: string | null; origin?: string | null; host?: string | null },
): boolean {
  if (!isUnsafeMethod(method)) return true;
  const site = headers.secFetchSite?.trim().toLowerCase();
  if (site) return site === "same-origin" || site === "none";
  const origin = headers.origin?.trim();
  if (!origin) return true;
  if (origin === "null" || !headers.host) return false;
  try {
    return new URL(origin).host === headers.host.trim().toLowerCase();
  } catch {
    return false;
  }
}
