// A benchmarked server in its own process (so its RSS is its own). Listens on 127.0.0.1, port 0,
// reports the port over IPC and answers the runner's control messages (seed, stats, close).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PerformanceObserver } from "node:perf_hooks";
import type { BenchApp } from "./app.js";
import { counters, detail } from "./counters.js";
import type { ControlReply, ControlRequest, ServerConfig } from "./protocol.js";
import { factories } from "./registry.js";

const config = JSON.parse(process.env.BENCH_SERVER_CONFIG ?? "{}") as ServerConfig;

async function listen(app: BenchApp): Promise<{ port: number; server?: Server }> {
  if (app.fastify) {
    await app.fastify.listen({ host: "127.0.0.1", port: 0 });
    return { port: (app.fastify.server.address() as AddressInfo).port };
  }
  const server = createServer({ keepAlive: true }, app.listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

async function main(): Promise<void> {
  if (config.diagnostics)
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        detail.gcMs += entry.duration;
        detail.gcCount += 1;
      }
    }).observe({ entryTypes: ["gc"] });
  const load = factories[config.variant];
  if (!load) throw new Error(`unknown variant ${config.variant}`);
  const app = await (await load())(config);
  const { port, server } = await listen(app);
  if (config.diagnostics)
    (server ?? app.fastify?.server)?.on("request", () => {
      detail.requests += 1;
    });
  let seeded = 0;

  async function handle(message: ControlRequest): Promise<unknown> {
    switch (message.type) {
      case "seed": {
        if (!app.seed) throw new Error(`${config.variant} has no store to seed`);
        await app.seed(seeded, message.count);
        seeded += message.count;
        return seeded;
      }
      case "stats": {
        const cpu = process.cpuUsage();
        return {
          ...counters,
          ...(config.diagnostics ? { detail: structuredClone(detail) } : {}),
          rss: process.memoryUsage().rss,
          cpuMicros: cpu.user + cpu.system,
        };
      }
      case "list-timing":
        if (!app.listTiming) throw new Error(`${config.variant} cannot list sessions`);
        return app.listTiming(message.userId, message.iterations);
      case "close":
        server?.closeAllConnections();
        await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
        await app.close();
        setImmediate(() => process.exit(0));
        return true;
    }
  }

  process.on("message", (message: ControlRequest) => {
    handle(message).then(
      (value) => process.send?.({ id: message.id, ok: true, value } satisfies ControlReply),
      (error: unknown) =>
        process.send?.({
          id: message.id,
          ok: false,
          error: String((error as Error)?.stack ?? error),
        } satisfies ControlReply),
    );
  });
  // The runner went away: do not linger.
  process.on("disconnect", () => process.exit(0));
  process.send?.({ type: "ready", port });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
