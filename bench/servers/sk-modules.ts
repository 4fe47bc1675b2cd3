import type * as Core from "sessionkeeper";
import type * as Express from "sessionkeeper/express";
import type * as Sqlite from "sessionkeeper/sqlite";
import type * as Web from "sessionkeeper/web";

/** The sessionkeeper entry points the bench servers use. */
export interface SessionkeeperModules {
  core: typeof Core;
  express: typeof Express;
  sqlite: typeof Sqlite;
  web: typeof Web;
  /** Loads an optional subpath (`postgres`, `redis`, `fastify`); throws when it is not there. */
  optional(name: "postgres" | "redis" | "fastify"): Promise<Record<string, unknown>>;
}

const FILES = {
  core: "index.js",
  express: "http/express.js",
  sqlite: "storage/sqlite.js",
  web: "http/web.js",
  postgres: "storage/postgres.js",
  redis: "cache/redis.js",
  fastify: "http/fastify.js",
};

/**
 * From a compiled build in `dir` when given (what the runner uses by default), else from the
 * package's exports (the TypeScript sources under `--conditions=sessionkeeper-source`).
 */
export async function loadSessionkeeper(dir: string | undefined): Promise<SessionkeeperModules> {
  const load = (name: keyof typeof FILES) =>
    import(
      dir ? `${dir}/${FILES[name]}` : name === "core" ? "sessionkeeper" : `sessionkeeper/${name}`
    );
  return {
    core: await load("core"),
    express: await load("express"),
    sqlite: await load("sqlite"),
    web: await load("web"),
    optional: (name) => load(name),
  };
}
