// Every page of the library is built with this template: interpolated values are escaped unless
// they are SafeHtml made by `html` itself, so request data (User-Agents, reasons, ids) can never
// become markup.

// Only this module holds the key, so only `html` (and the constant-text door below) can mint SafeHtml.
const MINT = Symbol("sessionkeeper.SafeHtml");

/** Markup that is safe to insert as-is: made by the {@link html} template, never from a plain string. */
export class SafeHtml {
  readonly #text: string;

  constructor(key: symbol, text: string) {
    if (key !== MINT) throw new TypeError("SafeHtml is made by the html`` template, not by hand");
    this.#text = text;
  }

  toString(): string {
    return this.#text;
  }
}

/** What may be interpolated: text (escaped), markup made by `html`, lists of either, or nothing. */
export type HtmlValue =
  | SafeHtml
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | readonly HtmlValue[];

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/** Escapes text for HTML content and quoted attribute values: & < > " ' and backtick. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ENTITIES[c] ?? c);
}

/**
 * Tagged template that escapes every interpolated value; `html` results and arrays of them are
 * inserted as markup, `null`, `undefined` and `false` as nothing.
 * @example
 * html`<p title="${userAgent}">${name}</p>`;
 */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) {
    out += render(values[i]) + (strings[i + 1] ?? "");
  }
  return new SafeHtml(MINT, out);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.toString();
  if (value === null || value === undefined || value === false) return "";
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/**
 * Markup from a constant written in this library (the stylesheet). Internal only, not exported
 * from the package: nothing from a request may pass through it.
 */
export function constantHtml(text: string): SafeHtml {
  return new SafeHtml(MINT, text);
}
