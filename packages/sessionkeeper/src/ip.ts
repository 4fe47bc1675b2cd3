import { BlockList, isIP } from "node:net";

/**
 * Normalises an IP address: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) becomes IPv4, IPv6 is lower-cased
 * and compressed, a zone id is dropped. Returns null for anything that is not an IP address.
 */
export function normalizeIp(value: string | null | undefined): string | null {
  if (typeof value !== "string" || value.length === 0 || value.length > 64) return null;
  let text = value.trim();
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  const zone = text.indexOf("%");
  if (zone !== -1) text = text.slice(0, zone);
  const version = isIP(text);
  if (version === 4) return text;
  if (version !== 6) return null;
  // The WHATWG URL parser prints IPv6 in its canonical form (RFC 5952: lower case, longest zero
  // run compressed), so equal addresses compare equal as strings.
  const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped) {
    const hi = Number.parseInt(mapped[1] as string, 16);
    const lo = Number.parseInt(mapped[2] as string, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return canonical;
}

/** True for loopback, private, link-local and unique-local addresses (no public location). */
export function isPrivateIp(ip: string): boolean {
  return PRIVATE.check(ip, isIP(ip) === 6 ? "ipv6" : "ipv4");
}

const PRIVATE = new BlockList();
PRIVATE.addSubnet("127.0.0.0", 8, "ipv4");
PRIVATE.addSubnet("10.0.0.0", 8, "ipv4");
PRIVATE.addSubnet("172.16.0.0", 12, "ipv4");
PRIVATE.addSubnet("192.168.0.0", 16, "ipv4");
PRIVATE.addSubnet("169.254.0.0", 16, "ipv4");
PRIVATE.addSubnet("100.64.0.0", 10, "ipv4");
PRIVATE.addSubnet("0.0.0.0", 8, "ipv4");
PRIVATE.addAddress("::1", "ipv6");
PRIVATE.addAddress("::", "ipv6");
PRIVATE.addSubnet("fc00::", 7, "ipv6");
PRIVATE.addSubnet("fe80::", 10, "ipv6");

/**
 * Parses a single address or CIDR range (IPv4 or IPv6; IPv4-mapped forms normalised) into
 * `{address, prefix, family}`, or null when invalid.
 */
export function parseCidr(
  value: string,
): { address: string; prefix: number; family: "ipv4" | "ipv6"; text: string } | null {
  if (typeof value !== "string" || value.length > 64) return null;
  const [addr, prefixText, extra] = value.trim().split("/");
  if (extra !== undefined || addr === undefined) return null;
  const raw = addr.trim();
  const mapped =
    isIP(raw) === 6 && normalizeIp(raw) !== null && isIP(normalizeIp(raw) as string) === 4;
  const address = normalizeIp(raw);
  if (!address) return null;
  const family = isIP(address) === 4 ? "ipv4" : "ipv6";
  const max = family === "ipv4" ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return null;
    prefix = Number(prefixText);
    // A mapped range such as ::ffff:10.0.0.0/104 is the IPv4 range 10.0.0.0/8.
    if (mapped) prefix -= 96;
    if (prefix < 0 || prefix > max) return null;
  }
  return { address, prefix, family, text: prefix === max ? address : `${address}/${prefix}` };
}

/** A set of addresses and CIDR ranges that answers `has(ip)`. Invalid entries throw a TypeError. */
export class IpSet {
  readonly #list = new BlockList();
  readonly entries: string[] = [];

  constructor(entries: Iterable<string>, optionName = "entries") {
    for (const entry of entries) {
      const cidr = parseCidr(entry);
      if (!cidr)
        throw new TypeError(
          `${optionName}: ${JSON.stringify(String(entry).slice(0, 64))} is not an IP address or CIDR range`,
        );
      this.#list.addSubnet(cidr.address, cidr.prefix, cidr.family);
      this.entries.push(cidr.text);
    }
  }

  has(ip: string): boolean {
    const normal = normalizeIp(ip);
    if (!normal) return false;
    return this.#list.check(normal, isIP(normal) === 6 ? "ipv6" : "ipv4");
  }
}
