import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type {
  ControlReply,
  ControlRequest,
  DbCounters,
  ServerConfig,
} from "../servers/protocol.js";

const MAIN = fileURLToPath(new URL("../servers/main.ts", import.meta.url));

/** Counters and memory a server reports about itself. */
export interface ServerStats extends DbCounters {
  rss: number;
  /** CPU time the server process has used (user + system), in microseconds. */
  cpuMicros: number;
  /** With `diagnostics` on: statements by SQL text, GC time and count (idle.ts). */
  detail?: { bySql: Record<string, number>; gcMs: number; gcCount: number; requests: number };
}

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/** A benchmarked server running in its own child process. */
export class ServerProcess {
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  private constructor(
    readonly variant: string,
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on("message", (message: ControlReply) => {
      const waiter = this.#pending.get(message.id);
      if (!waiter) return;
      this.#pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new Error(`${variant}: ${message.error}`));
    });
    child.on("exit", () => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error(`${variant} exited`));
      this.#pending.clear();
    });
  }

  /** Starts a server child (through tsx, resolving `sessionkeeper` to its source) and waits until it listens. */
  static async start(
    config: ServerConfig,
    options: { execArgv?: string[] } = {},
  ): Promise<ServerProcess> {
    const child = fork(MAIN, [], {
      execArgv: [
        "--import",
        "tsx",
        "--conditions=sessionkeeper-source",
        ...(options.execArgv ?? []),
      ],
      env: { ...process.env, BENCH_SERVER_CONFIG: JSON.stringify(config), NODE_ENV: "production" },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${config.variant} did not start within 60 s`)),
        60_000,
      );
      child.on("message", (message: { type?: string; port?: number }) => {
        if (message.type === "ready") {
          clearTimeout(timer);
          resolve(message.port as number);
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${config.variant} exited with code ${code} before listening`));
      });
    });
    return new ServerProcess(config.variant, child, port);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  request<T>(message: WithoutId<ControlRequest>, timeoutMs = 600_000): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.variant}: ${message.type} timed out`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ ...message, id });
    });
  }

  stats(): Promise<ServerStats> {
    return this.request<ServerStats>({ type: "stats" });
  }

  /** Resident set size in bytes, read by the runner from /proc (no request to the server). */
  rss(): { rss: number; peak: number } {
    const status = readFileSync(`/proc/${this.child.pid}/status`, "utf8");
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb("VmRSS"), peak: kb("VmHWM") };
  }

  /** Asks the server to close its store and exit; kills it if it does not within 10 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.request({ type: "close" }, 10_000).catch(() => {});
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
