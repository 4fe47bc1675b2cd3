import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from "kysely";
import type { SessionStore } from "sessionkeeper";

// The fault suite's own crash points, never part of the library: its app wrapper (app.ts) reads
// FAULTS_CRASH_AT and FAULTS_TRACE and wraps the store it hands to the reference app. A step is
// a write: `session.<method>` (the session store) or `db.<insert|update|delete>.<table>` (the
// guard's and the app's tables, through a Kysely plugin). `after:session.createSession#1` kills
// the process with SIGKILL once the first createSession has committed; `before:` before it runs.

const SESSION_WRITES = new Set([
  "createSession",
  "touchSession",
  "rotateSession",
  "endSession",
  "endUserSessions",
  "recordEvent",
]);

export interface CrashHook {
  wrapStore(store: SessionStore): SessionStore;
  plugin: KyselyPlugin;
  /** Counting starts here (after start-up): the steps of a request flow are then deterministic. */
  arm(): void;
}

export function crashHook(env: NodeJS.ProcessEnv): CrashHook {
  const target = parseTarget(env.FAULTS_CRASH_AT);
  const trace = env.FAULTS_TRACE === "1";
  const seen = new Map<string, number>();
  let armed = false;
  const pendingAfter = new Map<string, string>(); // queryId → step (for the plugin's "after")

  /** Called around each step; returns true when the process must die at this point. */
  const at = (phase: "before" | "after", step: string, occurrence: number): void => {
    if (!armed) return;
    if (trace && phase === "before") console.log(`FAULTS-STEP ${step}#${occurrence}`);
    if (target && target.phase === phase && target.step === step && target.n === occurrence) {
      console.log(`FAULTS-CRASH ${phase}:${step}#${occurrence}`);
      process.kill(process.pid, "SIGKILL");
    }
  };
  const count = (step: string): number => {
    if (!armed) return 0;
    const n = (seen.get(step) ?? 0) + 1;
    seen.set(step, n);
    return n;
  };

  return {
    arm() {
      armed = true;
    },
    wrapStore(store) {
      return new Proxy(store, {
        get(obj, prop, receiver) {
          const value = Reflect.get(obj, prop, receiver);
          if (typeof value !== "function") return value;
          // Bound to the real store: its private fields do not exist on the proxy.
          if (typeof prop !== "string" || !SESSION_WRITES.has(prop)) return value.bind(obj);
          return async (...args: unknown[]) => {
            const step = `session.${prop}`;
            const n = count(step);
            at("before", step, n);
            const result = await value.apply(obj, args);
            at("after", step, n);
            return result;
          };
        },
      });
    },
    plugin: {
      transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
        const step = writeStep(args.node);
        if (step) {
          const n = count(step);
          at("before", step, n);
          pendingAfter.set(args.queryId.queryId, `${step}#${n}`);
        }
        return args.node;
      },
      async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
        const pending = pendingAfter.get(args.queryId.queryId);
        if (pending) {
          pendingAfter.delete(args.queryId.queryId);
          const [step, n] = pending.split("#") as [string, string];
          at("after", step, Number(n));
        }
        return args.result;
      },
    },
  };
}

function parseTarget(value: string | undefined) {
  if (!value) return null;
  const match = /^(before|after):([\w.]+)#(\d+)$/.exec(value);
  if (!match) throw new TypeError("FAULTS_CRASH_AT must look like after:session.createSession#1");
  return { phase: match[1] as "before" | "after", step: match[2] as string, n: Number(match[3]) };
}

function tableName(node: unknown): string {
  const n = node as { table?: { identifier?: { name?: string } } } | undefined;
  return n?.table?.identifier?.name ?? "?";
}

function writeStep(node: RootOperationNode): string | null {
  switch (node.kind) {
    case "InsertQueryNode":
      return `db.insert.${tableName(node.into)}`;
    case "UpdateQueryNode":
      return `db.update.${tableName(node.table)}`;
    case "DeleteQueryNode":
      return `db.delete.${tableName(node.from.froms[0])}`;
    default:
      return null;
  }
}
