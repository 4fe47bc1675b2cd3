import { IpSet, parseCidr } from "../ip.js";
import type { IpRule, ProtectionStore } from "../storage/protection-store.js";
import { randomId } from "../token.js";

/** Why an IP may not sign in: a global deny rule, or outside the account's allow list. */
export type IpRefusal = "ip_denied" | "ip_not_allowed";

/** Adding a rule: the stored rule, or why the input was refused (input comes from a request). */
export type RuleResult =
  /** `added`: false when an equal rule was already there (it is returned instead). */
  | { ok: true; rule: IpRule; added: boolean }
  | { ok: false; error: "invalid_cidr" | "invalid_note" | "too_many_rules" };

interface Snapshot {
  rules: IpRule[];
  deny: IpSet;
  allow: Map<string, IpSet>;
  loadedAt: number;
}

const MAX_NOTE = 200;

/**
 * The IP rules, cached in memory: changes made through this instance apply at once, changes made
 * by another instance within `ttl`. Checks are in-memory lookups (node:net BlockList).
 */
export class RuleBook {
  #snapshot: Snapshot | null = null;
  #loading: Promise<Snapshot> | null = null;
  #generation = 0;
  #stored = -1;

  constructor(
    private readonly store: ProtectionStore,
    private readonly ttl: number,
    private readonly now: () => number,
    private readonly maxPerAccount: number,
  ) {}

  /** Refuses `ip` by a global deny rule, or (with `userId`) outside that account's allow list. */
  async check(ip: string, userId: string | null): Promise<IpRefusal | null> {
    const snapshot = await this.#current();
    if (snapshot.deny.has(ip)) return "ip_denied";
    const allow = userId !== null ? snapshot.allow.get(userId) : undefined;
    if (allow && !allow.has(ip)) return "ip_not_allowed";
    return null;
  }

  /** True when a global deny rule covers `ip`. */
  async isDenied(ip: string): Promise<boolean> {
    return (await this.#current()).deny.has(ip);
  }

  async list(scope: IpRule["scope"], userId: string | null): Promise<IpRule[]> {
    const snapshot = await this.#current();
    return snapshot.rules
      .filter((r) => r.scope === scope && (scope === "global" || r.userId === userId))
      .map((r) => ({ ...r }));
  }

  /** Adds a rule (an equal one already there is returned instead), then reloads the cache. */
  async add(
    scope: IpRule["scope"],
    userId: string | null,
    cidrText: unknown,
    note: unknown,
  ): Promise<RuleResult> {
    const cidr = typeof cidrText === "string" ? parseCidr(cidrText) : null;
    if (!cidr) return { ok: false, error: "invalid_cidr" };
    const cleanNote = parseNote(note);
    if (cleanNote === undefined) return { ok: false, error: "invalid_note" };
    const existing = (await this.reload()).rules.find(
      (r) => r.scope === scope && r.userId === userId && r.cidr === cidr.text,
    );
    if (existing) return { ok: true, rule: { ...existing }, added: false };
    if (
      scope === "account" &&
      (await this.store.countIpRules("account", userId)) >= this.maxPerAccount
    ) {
      return { ok: false, error: "too_many_rules" };
    }
    const rule: IpRule = {
      id: randomId(),
      scope,
      userId,
      action: scope === "global" ? "deny" : "allow",
      cidr: cidr.text,
      note: cleanNote,
      createdAt: this.now(),
    };
    await this.store.addIpRule(rule);
    await this.reload();
    return { ok: true, rule: { ...rule }, added: true };
  }

  /** Removes a rule of the scope (and account); false when there is none. */
  async remove(scope: IpRule["scope"], userId: string | null, id: unknown): Promise<boolean> {
    if (typeof id !== "string" || id.length > 64) return false;
    const removed = await this.store.removeIpRule(id, { scope, userId });
    await this.reload();
    return removed;
  }

  /** Reads the rules again now. A load started earlier never overwrites a newer one. */
  reload(): Promise<Snapshot> {
    const generation = ++this.#generation;
    const loading = this.store.listIpRules().then((rules) => {
      const snapshot = compile(rules, this.now());
      if (generation > this.#stored) {
        this.#stored = generation;
        this.#snapshot = snapshot;
      }
      return snapshot;
    });
    this.#loading = loading;
    loading.then(
      () => {
        if (this.#loading === loading) this.#loading = null;
      },
      () => {
        if (this.#loading === loading) this.#loading = null;
      },
    );
    return loading;
  }

  #current(): Promise<Snapshot> | Snapshot {
    const snapshot = this.#snapshot;
    if (snapshot && this.now() - snapshot.loadedAt < this.ttl) return snapshot;
    // One load at a time for the whole instance, however many requests arrive meanwhile.
    return this.#loading ?? this.reload();
  }
}

function compile(rules: IpRule[], now: number): Snapshot {
  const denies: string[] = [];
  const allows = new Map<string, string[]>();
  for (const rule of rules) {
    // A row that does not parse (edited by hand) is skipped rather than breaking every sign-in.
    if (!parseCidr(rule.cidr)) continue;
    if (rule.scope === "global" && rule.action === "deny") denies.push(rule.cidr);
    else if (rule.scope === "account" && rule.action === "allow" && rule.userId !== null) {
      const list = allows.get(rule.userId) ?? [];
      list.push(rule.cidr);
      allows.set(rule.userId, list);
    }
  }
  const allow = new Map<string, IpSet>();
  for (const [userId, list] of allows) allow.set(userId, new IpSet(list));
  return { rules, deny: new IpSet(denies), allow, loadedAt: now };
}

/** A note is optional one-line text; undefined means invalid. */
function parseNote(value: unknown): string | null | undefined {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string" || value.length > MAX_NOTE) return undefined;
  const text = value.replace(/\p{Cc}/gu, " ").trim();
  return text.length > 0 ? text : null;
}

/** The JSON shape of a rule for APIs such as `/api/ip-rules`. */
export function ipRuleToJSON(rule: IpRule) {
  return {
    id: rule.id,
    scope: rule.scope,
    action: rule.action,
    cidr: rule.cidr,
    note: rule.note,
    createdAt: new Date(rule.createdAt).toISOString(),
  };
}

export type IpRuleJSON = ReturnType<typeof ipRuleToJSON>;
