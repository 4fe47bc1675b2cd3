/**
 * One value of a Node request header (`IncomingMessage#headers`), or null. Node joins most
 * repeated headers; for the rest take the first, as browsers send one.
 */
export function nodeHeaderValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}
