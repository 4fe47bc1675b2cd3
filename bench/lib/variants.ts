/** What a variant is, what it needs, and what its figures are compared with. */
export interface Variant {
  name: string;
  label: string;
  /**
   * A reference is a ceiling plus one async no-op middleware: the cost of any asynchronous
   * middleware. A floor is the least work of any hashed-token session, synchronous from a Map.
   */
  kind: "ceiling" | "reference" | "floor" | "anchor" | "sessionkeeper";
  framework: "node:http" | "Express 5" | "Hono" | "Fastify 5";
  store: string;
  postgres?: boolean;
  redis?: boolean;
  /** A sessionkeeper subpath export this variant needs; skipped with a note when it does not load. */
  modules?: string[];
  /** The framework's own no-session ceiling. */
  ceiling?: string;
  /** The framework's hashed-token floor: the least session work, for comparison. */
  floor?: string;
  /** The anchors it replaces, first the main one. */
  anchors?: string[];
}

export const VARIANTS: Variant[] = [
  {
    name: "node-http",
    label: "node:http (no session)",
    kind: "ceiling",
    framework: "node:http",
    store: "—",
  },
  {
    name: "express",
    label: "Express 5 (no session)",
    kind: "ceiling",
    framework: "Express 5",
    store: "—",
  },
  { name: "hono", label: "Hono (no session)", kind: "ceiling", framework: "Hono", store: "—" },
  {
    name: "fastify",
    label: "Fastify 5 (no session)",
    kind: "ceiling",
    framework: "Fastify 5",
    store: "—",
  },
  {
    name: "express-async-noop",
    label: "Express 5 + async no-op middleware",
    kind: "reference",
    framework: "Express 5",
    store: "—",
    ceiling: "express",
  },
  {
    name: "hono-async-noop",
    label: "Hono + async no-op middleware",
    kind: "reference",
    framework: "Hono",
    store: "—",
    ceiling: "hono",
  },
  {
    name: "express-floor",
    label: "Express 5 + hashed-token floor",
    kind: "floor",
    framework: "Express 5",
    store: "Map",
    ceiling: "express",
  },
  {
    name: "hono-floor",
    label: "Hono + hashed-token floor",
    kind: "floor",
    framework: "Hono",
    store: "Map",
    ceiling: "hono",
  },
  {
    name: "fastify-floor",
    label: "Fastify 5 + hashed-token floor",
    kind: "floor",
    framework: "Fastify 5",
    store: "Map",
    ceiling: "fastify",
  },
  {
    name: "express-session-memory",
    label: "express-session + MemoryStore",
    kind: "anchor",
    framework: "Express 5",
    store: "memory",
    ceiling: "express",
  },
  {
    name: "express-session-pg",
    label: "express-session + connect-pg-simple",
    kind: "anchor",
    framework: "Express 5",
    store: "PostgreSQL",
    postgres: true,
    ceiling: "express",
  },
  {
    name: "express-session-redis",
    label: "express-session + connect-redis",
    kind: "anchor",
    framework: "Express 5",
    store: "Redis",
    redis: true,
    ceiling: "express",
  },
  {
    name: "fastify-session-redis",
    label: "@fastify/session + Redis store",
    kind: "anchor",
    framework: "Fastify 5",
    store: "Redis",
    redis: true,
    ceiling: "fastify",
  },
  {
    name: "better-auth-pg",
    label: "Better Auth getSession",
    kind: "anchor",
    framework: "Express 5",
    store: "PostgreSQL",
    postgres: true,
    ceiling: "express",
  },
  {
    name: "better-auth-pg-cookie-cache",
    label: "Better Auth getSession + cookie cache",
    kind: "anchor",
    framework: "Express 5",
    store: "PostgreSQL",
    postgres: true,
    ceiling: "express",
  },
  {
    name: "sk-express-sqlite",
    label: "sessionkeeper, Express",
    kind: "sessionkeeper",
    framework: "Express 5",
    store: "SQLite",
    ceiling: "express",
    floor: "express-floor",
    anchors: ["express-session-memory"],
  },
  {
    name: "sk-hono-sqlite",
    label: "sessionkeeper, Hono",
    kind: "sessionkeeper",
    framework: "Hono",
    store: "SQLite",
    ceiling: "hono",
    floor: "hono-floor",
    anchors: ["express-session-memory"],
  },
  {
    name: "sk-fastify-sqlite",
    label: "sessionkeeper, Fastify",
    kind: "sessionkeeper",
    framework: "Fastify 5",
    store: "SQLite",
    modules: ["sessionkeeper/fastify"],
    ceiling: "fastify",
    floor: "fastify-floor",
    anchors: ["fastify-session-redis"],
  },
  {
    name: "sk-express-pg",
    label: "sessionkeeper, Express",
    kind: "sessionkeeper",
    framework: "Express 5",
    store: "PostgreSQL",
    postgres: true,
    modules: ["sessionkeeper/postgres"],
    ceiling: "express",
    floor: "express-floor",
    anchors: ["express-session-pg", "better-auth-pg", "better-auth-pg-cookie-cache"],
  },
  {
    name: "sk-hono-pg",
    label: "sessionkeeper, Hono",
    kind: "sessionkeeper",
    framework: "Hono",
    store: "PostgreSQL",
    postgres: true,
    modules: ["sessionkeeper/postgres"],
    ceiling: "hono",
    floor: "hono-floor",
    anchors: ["express-session-pg", "better-auth-pg"],
  },
  {
    name: "sk-express-pg-redis",
    label: "sessionkeeper, Express",
    kind: "sessionkeeper",
    framework: "Express 5",
    store: "PostgreSQL + Redis cache",
    postgres: true,
    redis: true,
    modules: ["sessionkeeper/postgres", "sessionkeeper/redis"],
    ceiling: "express",
    floor: "express-floor",
    anchors: ["express-session-redis", "better-auth-pg-cookie-cache"],
  },
  {
    name: "sk-hono-pg-redis",
    label: "sessionkeeper, Hono",
    kind: "sessionkeeper",
    framework: "Hono",
    store: "PostgreSQL + Redis cache",
    postgres: true,
    redis: true,
    modules: ["sessionkeeper/postgres", "sessionkeeper/redis"],
    ceiling: "hono",
    floor: "hono-floor",
    anchors: ["express-session-redis"],
  },
];

/** The targets from issue 6, as ratios measured in the same run. */
export interface Target {
  label: string;
  variant: string;
  baseline: string;
  atLeast: number;
  /** For a ceiling target: the floor variant, whose ratio to the same baseline is shown beside it. */
  floor?: string;
}

/** True for variants that keep sessions (and so get sign-in checks, seeding and counters). */
export function hasSessions(v: Variant): boolean {
  return v.kind === "anchor" || v.kind === "floor" || v.kind === "sessionkeeper";
}

export const TARGETS: Target[] = [
  {
    label: "SQLite, Express: ≥ 0.9× the Express ceiling",
    variant: "sk-express-sqlite",
    baseline: "express",
    atLeast: 0.9,
    floor: "express-floor",
  },
  {
    label: "SQLite, Hono: ≥ 0.8× the Hono ceiling",
    variant: "sk-hono-sqlite",
    baseline: "hono",
    atLeast: 0.8,
    floor: "hono-floor",
  },
  {
    label: "PostgreSQL: ≥ 3× express-session + connect-pg-simple",
    variant: "sk-express-pg",
    baseline: "express-session-pg",
    atLeast: 3,
  },
  {
    label: "PostgreSQL + Redis cache, Express: ≥ 0.9× the Express ceiling",
    variant: "sk-express-pg-redis",
    baseline: "express",
    atLeast: 0.9,
    floor: "express-floor",
  },
  {
    label: "PostgreSQL + Redis cache, Hono: ≥ 0.9× the Hono ceiling",
    variant: "sk-hono-pg-redis",
    baseline: "hono",
    atLeast: 0.9,
    floor: "hono-floor",
  },
  {
    label: "PostgreSQL: ≥ 5× Better Auth getSession (no cookie cache)",
    variant: "sk-express-pg",
    baseline: "better-auth-pg",
    atLeast: 5,
  },
];
