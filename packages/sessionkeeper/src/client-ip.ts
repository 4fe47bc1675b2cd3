import { IpSet, normalizeIp } from "./ip.js";

/**
 * Which proxies in front of the app are trusted to report the client's address:
 * `false` (default: use the socket address), a hop count, `"loopback"`, or a list of CIDRs.
 */
export type TrustProxy = false | number | "loopback" | readonly string[];

export type ProxyTrust =
  | { kind: "none" }
  | { kind: "hops"; hops: number }
  | { kind: "set"; set: IpSet };

const LOOPBACK = ["127.0.0.0/8", "::1"];
// More hops than this is not a deployment, it is a forged header.
const MAX_FORWARDED_ENTRIES = 32;

/** Validates a `trustProxy` option; throws a TypeError naming it. */
export function compileTrustProxy(value: unknown, name = "trustProxy"): ProxyTrust {
  if (value === undefined || value === false || value === 0) return { kind: "none" };
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0 || value > MAX_FORWARDED_ENTRIES) {
      throw new TypeError(
        `options.${name} must be a hop count from 0 to 32, "loopback", or a list of CIDRs`,
      );
    }
    return { kind: "hops", hops: value };
  }
  if (value === "loopback") return { kind: "set", set: new IpSet(LOOPBACK) };
  if (Array.isArray(value) && value.length > 0) {
    const entries = value.flatMap((v) => (v === "loopback" ? LOOPBACK : [String(v)]));
    return { kind: "set", set: new IpSet(entries, `options.${name}`) };
  }
  throw new TypeError(`options.${name} must be false, a hop count, "loopback", or a list of CIDRs`);
}

/**
 * The client's address. Without trusted proxies it is the socket address and `X-Forwarded-For`
 * is ignored, since any client can send it. With them, it is the rightmost address that is not a
 * trusted proxy: a client can prepend anything to the header, but cannot forge what our proxies append.
 */
export function resolveClientIp(
  socketAddress: string | null | undefined,
  forwardedFor: string | null | undefined,
  trust: ProxyTrust,
): string {
  const socket = normalizeIp(socketAddress) ?? "0.0.0.0";
  if (trust.kind === "none" || !forwardedFor) return socket;
  // Bound from the right: our proxies append there, so a client's padding on the left cannot push them out.
  const hops = forwardedFor.slice(-2048).split(",").slice(-MAX_FORWARDED_ENTRIES);
  // Walk from the nearest hop outwards: [socket, last XFF entry, ..., first XFF entry].
  const chain = [socket];
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = normalizeIp(hops[i]);
    // A garbage entry ends the walk: nothing to its left can be attributed to a trusted proxy.
    if (!ip) break;
    chain.push(ip);
  }
  if (trust.kind === "hops") return chain[Math.min(trust.hops, chain.length - 1)] as string;
  for (let i = 0; i < chain.length; i++) {
    if (!trust.set.has(chain[i] as string)) return chain[i] as string;
  }
  return chain[chain.length - 1] as string;
}
