import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import pg from "pg";
import { openStorage, parseDatabaseUrl } from "../../src/storage/open.js";
import {
  freshMysqlDatabase,
  freshPgSchema,
  type MysqlDatabase,
  mysqlSkip,
  type PgSchema,
  postgresSkip,
} from "./services.js";

describe("openStorage(DATABASE_URL)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sk-open-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("opens an SQLite file from a plain path or sqlite:<path>, creating its folder", async () => {
    for (const url of [
      join(dir, "a", "b", "plain.db"),
      `sqlite:${join(dir, "c", "prefixed.db")}`,
      `sqlite://${join(dir, "d", "url.db")}`,
    ]) {
      const opened = await openStorage(url);
      assert.equal(opened.dialect, "sqlite");
      await opened.store.migrate();
      assert.equal(await opened.store.findSession("nope"), null);
      await opened.close();
    }
    assert.ok(existsSync(join(dir, "a", "b", "plain.db")));
    assert.ok(existsSync(join(dir, "c", "prefixed.db")));
    assert.ok(existsSync(join(dir, "d", "url.db")));
  });

  it("refuses a bad DATABASE_URL with a TypeError naming it, never repeating a password", async () => {
    const bad = [
      "",
      "   ",
      "http://example.com/db",
      "redis://localhost:6379",
      "mongodb://u:hunter2@h/db",
      "postgres://u:hunter2@/db",
      "mysql://",
      "sqlite:",
    ];
    for (const url of bad) {
      await assert.rejects(openStorage(url), (error: unknown) => {
        assert.ok(error instanceof TypeError, `${url} gives a TypeError`);
        assert.match(error.message, /DATABASE_URL/);
        assert.ok(!error.message.includes("hunter2"));
        return true;
      });
    }
  });

  it("classifies each kind of URL", () => {
    assert.deepEqual(parseDatabaseUrl("postgresql://h/db"), {
      dialect: "postgres",
      url: "postgresql://h/db",
    });
    assert.deepEqual(parseDatabaseUrl("mariadb://root@h/db"), {
      dialect: "mysql",
      url: "mysql://root@h/db",
    });
    assert.deepEqual(parseDatabaseUrl("sqlite:./data/app.db"), {
      dialect: "sqlite",
      path: "./data/app.db",
    });
    assert.deepEqual(parseDatabaseUrl("sqlite:///var/app.db"), {
      dialect: "sqlite",
      path: "/var/app.db",
    });
    assert.deepEqual(parseDatabaseUrl("data/app.db"), { dialect: "sqlite", path: "data/app.db" });
  });
});

describe("openStorage on PostgreSQL: bounded pool, statement timeout", {
  skip: await postgresSkip(),
}, () => {
  let schema: PgSchema;
  before(async () => {
    schema = await freshPgSchema();
  });
  after(() => schema?.drop());

  it("never opens more connections than poolSize, however many requests wait", async () => {
    const appName = `sk-pool-${process.pid}-${Date.now()}`;
    const url = new URL(schema.url);
    url.searchParams.set("application_name", appName);
    for (const scheme of ["postgres:", "postgresql:"]) {
      url.protocol = scheme;
      const opened = await openStorage(url.toString(), { poolSize: 2 });
      assert.equal(opened.dialect, "postgres");
      await opened.store.migrate();
      const watcher = new pg.Client({ connectionString: schema.url });
      await watcher.connect();
      let most = 0;
      const watching = (async () => {
        for (let i = 0; i < 20; i++) {
          const { rows } = await watcher.query<{ n: string }>(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1",
            [appName],
          );
          most = Math.max(most, Number(rows[0]?.n));
          await new Promise((r) => setTimeout(r, 15));
        }
      })();
      await Promise.all(
        Array.from({ length: 10 }, () => sql`SELECT pg_sleep(0.05)`.execute(opened.store.db)),
      );
      await watching;
      await watcher.end();
      assert.ok(most >= 1 && most <= 2, `at most 2 connections (saw ${most})`);
      await opened.close();
    }
  });

  it("cancels a statement that runs past statementTimeout", async () => {
    const opened = await openStorage(schema.url, { statementTimeout: "200ms" });
    try {
      await assert.rejects(sql`SELECT pg_sleep(5)`.execute(opened.store.db), /statement timeout/);
    } finally {
      await opened.close();
    }
  });
});

describe("openStorage on MariaDB/MySQL", { skip: await mysqlSkip() }, () => {
  let database: MysqlDatabase;
  before(async () => {
    database = await freshMysqlDatabase();
  });
  after(() => database?.drop());

  it("opens mysql:// with a statement limit set on its connections", async () => {
    const opened = await openStorage(database.url, { statementTimeout: "7s" });
    try {
      assert.equal(opened.dialect, "mysql");
      await opened.store.migrate();
      assert.equal(await opened.store.findSession("nope"), null);
      const { rows } = await sql<{ t: string | number }>`SELECT @@max_statement_time AS t`.execute(
        opened.store.db,
      );
      assert.equal(Number(rows[0]?.t), 7);
    } finally {
      await opened.close();
    }
  });
});
