/** The longest device name a user may give, in characters (the column is varchar(64)). */
export const DEVICE_NAME_MAX = 64;

// Control characters, line and paragraph separators, direction overrides and isolates (they can
// make a name read backwards in a page or a mail), and lone surrogates (not text at all).
const REFUSED = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\p{Cs}]/u;

/**
 * A device name as stored: trimmed and NFC-normalised; "" and null clear it (null). Throws a
 * `RangeError` for a name that is not a string, too long, or holds refused characters.
 */
export function checkDeviceName(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== "string") throw new RangeError("a device name must be a string");
  // Checked on the raw value first: normalising a huge string costs time.
  if (value.length > DEVICE_NAME_MAX * 8) throw new RangeError("the device name is too long");
  if (REFUSED.test(value)) throw new RangeError("the device name holds control characters");
  const name = value.normalize("NFC").trim();
  if ([...name].length > DEVICE_NAME_MAX)
    throw new RangeError(`a device name has at most ${DEVICE_NAME_MAX} characters`);
  return name.length > 0 ? name : null;
}
