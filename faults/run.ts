import { execFileSync } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statfsSync,
  writeSync,
} from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { openStorage } from "sessionkeeper";
import {
  freePort,
  freshPgSchema,
  startOwnRedis,
  withSearchPath,
} from "../packages/sessionkeeper/test/many/services.js";
import { crashAtEachStep } from "./crash-steps.js";
import { buildApp, type Instance, instance } from "./instances.js";
import {
  acceptedAfterEndInDb,
  countDb,
  type Db,
  type DbCounts,
  pgDb,
  sqliteDb,
} from "./invariants.js";
import { Load } from "./load.js";
import type { Record as Answered, User } from "./model.js";
import { timeToRecover } from "./probes.js";
import { startFront, startRelay } from "./relay.js";
import { type FaultResult, type Results, writeReport } from "./report.js";
import { measureRevocations, type RevocationRun } from "./revocation.js";
import { Seeder } from "./seed.js";
import { answerStats, countKinds, type Kill } from "./stats.js";

// `npm run faults` (full) or `npm run faults -- --short` (CI). See docs/reliability.md.
const SHORT = process.argv.includes("--short");
// `--only=redis_kill,revocation`: a subset (for a quick look; the report is marked partial).
const ONLY = process.argv
  .find((a) => a.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",");
const wanted = (name: string) => !ONLY || ONLY.includes(name);
const cfg = SHORT
  ? {
      instances: 3,
      users: 150,
      concurrency: 8,
      faultMs: 4000,
      settleMs: 1000,
      revocations: 100,
      revocationsRedisDown: 30,
      shortLifetime: "15s",
    }
  : {
      instances: 3,
      users: 2000,
      concurrency: 12,
      faultMs: 15_000,
      settleMs: 3000,
      revocations: 1000,
      revocationsRedisDown: 200,
      shortLifetime: "60s",
    };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) =>
  console.log(`[faults ${new Date().toISOString().slice(11, 19)}] ${line}`);
const runStarted = performance.now();

await buildApp();
const schema = await freshPgSchema();
const redis = await startOwnRedis();
const pgRelay = await startRelay(5432);
const redisRelay = await startRelay(redis.port);
const env = {
  DATABASE_URL: withSearchPath(schema.url, schema.name, { port: pgRelay.port }),
  REDIS_URL: `redis://127.0.0.1:${redisRelay.port}`,
  NEW_DEVICE_VERIFICATION: "off",
  SIGNIN_ALERTS: "off",
};
const instances: Instance[] = [];
for (let i = 0; i < cfg.instances; i++)
  instances.push(instance(`app${i + 1}`, await freePort(), env));
const cleanups: (() => Promise<unknown>)[] = [];
let db: Db | null = null;
let tearingDown: Promise<void> | null = null;
/** Stops everything the suite started (instances, its Redis, relays) and drops its schema; once. */
function teardown(): Promise<void> {
  tearingDown ??= (async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await db?.close().catch(() => {});
    await redis.stop();
    await pgRelay.close();
    await redisRelay.close();
    await schema.drop();
  })();
  return tearingDown;
}
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => void teardown().finally(() => process.exit(130)));

try {
  log(`starting ${cfg.instances} instances (PostgreSQL and Redis through relays)`);
  await instances[0]?.start(); // migrations first, then the others
  await Promise.all(instances.slice(1).map((i) => i.start()));
  cleanups.push(() => Promise.all(instances.map((i) => i.stop())));
  const front = await startFront(() => instances.map((i) => i.port));
  cleanups.push(() => front.close());
  db = await pgDb(schema.url);
  const opened = await openStorage(schema.url);
  cleanups.push(() => opened.close());
  const seeder = new Seeder(opened.store, opened.store.db as never, {
    shortLifetime: cfg.shortLifetime,
  });

  log(`seeding ${cfg.users} users and their sessions`);
  const users = await seeder.users(cfg.users, "u");
  for (const [n, u] of users.entries()) {
    await seeder.session(u);
    if (n % 2 === 0) await seeder.session(u);
    if (n % 10 === 0) await seeder.session(u, { short: true });
  }
  const [probeUser] = await seeder.users(1, "probe");
  const revokers = await seeder.users(50, "revoker");
  const crashUsers = await seeder.users(40, "crash");

  const load = new Load(users, () => front.port, cfg.concurrency);
  const faults: FaultResult[] = [];
  let mark = 0;
  const windowRecords = (): Answered[] => {
    const out = load.records.slice(mark);
    mark = load.records.length;
    return out;
  };
  const violationsSince = (from: number) => load.violations.slice(from);

  /** Runs one fault under load: inject, hold, restore, measure recovery, check the invariants. */
  const underLoad = async (
    name: string,
    title: string,
    inject: () => Promise<void>,
    restore: () => Promise<void>,
    extra: { killedAt?: Kill[]; during?: () => Promise<void> } = {},
  ): Promise<FaultResult | null> => {
    if (!wanted(name)) return null;
    log(`fault: ${title}`);
    windowRecords();
    const v0 = load.violations.length;
    load.phase = name;
    const started = performance.now();
    await inject();
    if (extra.during) await extra.during();
    else await sleep(cfg.faultMs);
    const restoring = performance.now();
    await restore();
    const restoreMs = Math.round(performance.now() - restoring);
    const recovery = await timeToRecover(instances, probeUser as User);
    load.phase = `${name}/after`;
    await sleep(cfg.settleMs);
    const records = windowRecords();
    const result = await judge(
      name,
      title,
      records,
      violationsSince(v0),
      recovery,
      extra.killedAt ?? [],
    );
    result.durationMs = Math.round(performance.now() - started);
    result.restoreMs = restoreMs;
    faults.push(result);
    log(`  ${summary(result)}`);
    return result;
  };
  const judge = async (
    name: string,
    title: string,
    records: Answered[],
    violations: typeof load.violations,
    recovery: { ms: number | null; last: string | null },
    killedAt: Kill[],
    onDb: Db = db as Db,
  ): Promise<FaultResult> => {
    const stats = answerStats(records, killedAt);
    const inDb = await acceptedAfterEndInDb(onDb, records);
    return {
      name,
      title,
      durationMs: 0,
      stats,
      recoveryMs: recovery.ms,
      recoveryFailure: recovery.ms === null ? recovery.last : null,
      answerViolations: countKinds(violations),
      dbAcceptedAfterEnd: inDb.afterEnd,
      dbAcceptedAfterExpiry: inDb.afterExpiry,
      db: await countDb(onDb),
      notes: [],
    };
  };

  load.start();
  log("baseline load");
  windowRecords();
  await sleep(cfg.faultMs);
  faults.push(
    await judge(
      "baseline",
      "No fault (baseline)",
      windowRecords(),
      [...load.violations],
      { ms: 0, last: null },
      [],
    ),
  );

  await underLoad(
    "redis_kill",
    "Redis killed (SIGKILL), then restarted",
    () => redis.stop(),
    () => redis.start(),
  );
  await underLoad(
    "redis_slow",
    "Redis slowed: 250 ms each way at its relay",
    async () => redisRelay.delay(250),
    async () => redisRelay.delay(0),
  );
  await underLoad(
    "pg_cut",
    "PostgreSQL connections cut at the relay, then restored",
    () => pgRelay.cut(),
    () => pgRelay.restore(),
  );
  await underLoad(
    "pg_slow",
    "PostgreSQL slowed: 100 ms per round trip at the relay",
    async () => pgRelay.delay(50),
    async () => pgRelay.delay(0),
  );
  const killedAt: Kill[] = [];
  const victim = instances[1] as Instance;
  await underLoad(
    "instance_kill",
    `One instance (${victim.name}) killed with SIGKILL mid-traffic, then restarted`,
    async () => {
      const sentAt = performance.now();
      await victim.kill();
      killedAt.push({ sentAt, diedAt: performance.now() });
    },
    async () => {
      await victim.start();
      const kill = killedAt[killedAt.length - 1];
      if (kill) kill.backAt = performance.now();
    },
    { killedAt },
  );

  // Crash at each write of a held sign-in and its approval, on a fourth instance with
  // verification on, while the load goes on against the three.
  const crashInstance = instance("crash", await freePort(), {
    ...env,
    NEW_DEVICE_VERIFICATION: "new-device",
  });
  cleanups.push(() => crashInstance.stop());
  const stepDb: DbCounts[] = [];
  let crash: Results["crash"] = null;
  await underLoad(
    "crash_steps",
    "SIGKILL at each write of a held sign-in and of its approval",
    async () => {},
    async () => {},
    {
      during: async () => {
        // The short run (CI) crashes only after the writes that change a session's state (the
        // pending session, its verification row, the approval, the activation); the full run
        // after every write, history lines, counters and known devices included.
        const stateWrites = [
          "session.createSession",
          "db.insert.sk_verifications",
          "db.update.sk_verifications",
          "session.rotateSession",
        ];
        const keep = SHORT
          ? (step: string) => stateWrites.includes(step.split("#")[0] as string)
          : undefined;
        const out = await crashAtEachStep(
          crashInstance,
          crashUsers,
          async () => {
            stepDb.push(await countDb(db as Db));
          },
          keep,
        );
        crash = {
          traced: out.traced,
          points: out.points.map((p, i) => ({ ...p, db: stepDb[i] as DbCounts })),
          finalFlows: out.finalFlows,
        };
      },
    },
  );

  // Measured on its own (the load paused): the figure is the propagation plus one request's round
  // trip, not the queue of a saturated 2-core machine.
  await load.stop();
  const none = {
    latencies: [],
    roundTrips: [],
    acceptedAfter: 0,
    other: 0,
    neverRefused: 0,
    revocations: 0,
  };
  let withRedis: RevocationRun = none;
  let redisDown: RevocationRun = none;
  if (wanted("revocation")) {
    log(`revocation latency: ${cfg.revocations} revocations with Redis up`);
    load.phase = "revocation";
    withRedis = await measureRevocations(instances, seeder, revokers.slice(0, 25), cfg.revocations);
    await redis.stop();
    await sleep(1500);
    log(`revocation latency: ${cfg.revocationsRedisDown} revocations with Redis down`);
    redisDown = await measureRevocations(
      instances,
      seeder,
      revokers.slice(25),
      cfg.revocationsRedisDown,
    );
    await redis.start();
    await sleep(cfg.settleMs);
  }
  windowRecords();
  const overall = {
    stats: answerStats(load.records, killedAt),
    violations: countKinds(load.violations),
  };

  // The SQLite deployment: one instance, its disk filled under load, then space freed.
  if (wanted("sqlite_disk_full")) faults.push(await diskFull(cfg, seeder));

  const results: Results = {
    mode: ONLY ? "partial" : SHORT ? "short" : "full",
    machine: { cpus: cpus().length, node: process.version },
    config: cfg,
    runSeconds: 0,
    faults,
    overall,
    crash,
    revocation: { withRedis, redisDown },
  };
  results.runSeconds = Math.round((performance.now() - runStarted) / 1000);
  const failures = writeReport(results);
  if (failures.length > 0) {
    console.error(`FAULTS FAILED: ${failures.length} invariant(s) broken:\n${failures.join("\n")}`);
    process.exitCode = 1;
  } else log(`all invariants held (${results.runSeconds} s)`);
} finally {
  await teardown();
}

function summary(r: FaultResult): string {
  const s = r.stats;
  return `${s.requests} requests ${JSON.stringify(s.byStatus)} worst ${s.worstLatencyMs} ms (${s.slowest}), recovered in ${r.recoveryMs ?? "NEVER"} ms, violations ${JSON.stringify(r.answerViolations)} db ${JSON.stringify(r.db)}`;
}

/** The SQLite deployment's disk filled (a small tmpfs, or RLIMIT_FSIZE where mounting is refused). */
async function diskFull(c: typeof cfg, _seeder: Seeder): Promise<FaultResult> {
  void _seeder;
  const dir = mkdtempSync(join(tmpdir(), "sk-faults-disk-"));
  let mounted = false;
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", dir], { stdio: "ignore" });
    mounted = true;
  } catch {
    mounted = false;
  }
  const file = join(dir, "app.db");
  const inst = instance(
    "sqlite",
    await freePort(),
    { DATABASE_URL: `sqlite:${file}`, NEW_DEVICE_VERIFICATION: "off", SIGNIN_ALERTS: "off" },
    { fsizeLimit: !mounted },
  );
  const how = mounted
    ? "a 16 MB tmpfs filled by a filler file, then the file deleted"
    : "RLIMIT_FSIZE set on the process with prlimit, then lifted (mount was refused)";
  log(`fault: SQLite disk full (${how})`);
  await inst.start();
  const opened = await openStorage(`sqlite:${file}`);
  const seeder = new Seeder(opened.store, opened.store.db as never, {
    shortLifetime: c.shortLifetime,
  });
  const users = await seeder.users(Math.min(200, c.users), "s");
  for (const u of users) await seeder.session(u);
  const [probe] = await seeder.users(1, "sprobe");
  const sdb = sqliteDb(file);
  const load = new Load(users, () => inst.port, Math.max(4, Math.floor(c.concurrency / 2)));
  load.start();
  await sleep(c.settleMs);
  const mark = load.records.length;
  load.phase = "sqlite_disk_full";
  const filler = join(dir, "filler");
  const started = performance.now();
  // Empty the WAL first: otherwise writes land in its already allocated pages for a while and
  // the full disk goes unnoticed during a short fault.
  await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(opened.store.db as never).catch(() => {});
  if (mounted) {
    const fd = openSync(filler, "w");
    for (const size of [1 << 20, 64 << 10, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size);
      try {
        for (;;) writeSync(fd, chunk);
      } catch {
        // ENOSPC at this size: go on with a smaller one, until not one byte fits.
      }
    }
    closeSync(fd);
  } else {
    // Any file write past 4 KiB fails (EFBIG): the WAL was just emptied, so every commit does.
    execFileSync("prlimit", [`--pid=${inst.pid}`, "--fsize=4096"]);
  }
  const free = mounted ? statfsSync(dir).bavail * statfsSync(dir).bsize : null;
  await sleep(c.faultMs);
  if (mounted) rmSync(filler);
  else execFileSync("prlimit", [`--pid=${inst.pid}`, "--fsize=unlimited"]);
  const recovery = await timeToRecover([inst], probe as User);
  load.phase = "sqlite_disk_full/after";
  await sleep(c.settleMs);
  await load.stop();
  const records = load.records.slice(mark);
  const stats = answerStats(records);
  const inDb = await acceptedAfterEndInDb(sdb, records);
  const result: FaultResult = {
    name: "sqlite_disk_full",
    title: `SQLite deployment: disk full (${how})`,
    durationMs: Math.round(performance.now() - started),
    stats,
    recoveryMs: recovery.ms,
    recoveryFailure: recovery.ms === null ? recovery.last : null,
    answerViolations: countKinds(load.violations),
    dbAcceptedAfterEnd: inDb.afterEnd,
    dbAcceptedAfterExpiry: inDb.afterExpiry,
    db: await countDb(sdb),
    notes: [how, ...(free !== null ? [`free bytes during the fault: ${free}`] : [])],
  };
  log(`  ${summary(result)}`);
  await sdb.close();
  await opened.close();
  await inst.stop();
  if (mounted) execFileSync("umount", [dir]);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  return result;
}
