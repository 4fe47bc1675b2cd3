import type { SessionKeeper } from "../session-keeper.js";
import type { RequestInfo } from "../types.js";
import type { ResolvedGuardOptions } from "./options.js";

/** The per-user session cap: at most `max` active sessions, ending the oldest or refusing. */
export class SessionCap {
  constructor(
    private readonly keeper: SessionKeeper<object>,
    private readonly limit: ResolvedGuardOptions["sessionLimit"],
  ) {}

  /** True when the cap refuses new sessions and the user is at it (`exceptId` not counted). */
  async refuses(userId: string, exceptId: string | null): Promise<boolean> {
    return (
      this.limit?.onLimit === "refuse" &&
      (await this.#active(userId, exceptId)).length >= this.limit.max
    );
  }

  /** With `end-oldest`, ends the user's oldest active sessions (reason `session_limit`) so `keepId` fits. */
  async makeRoom(userId: string, keepId: string, info: RequestInfo): Promise<void> {
    const limit = this.limit;
    if (limit?.onLimit !== "end-oldest") return;
    const others = (await this.#active(userId, keepId)).sort(
      (a, b) => a.createdAt.getTime() - b.createdAt.getTime(),
    );
    const excess = others.length - (limit.max - 1);
    for (const session of others.slice(0, Math.max(0, excess))) {
      await this.keeper.revokeSession(session.id, {
        userId,
        reason: "session_limit",
        info,
        by: { kind: "system" },
      });
    }
  }

  async #active(userId: string, exceptId: string | null) {
    const sessions = await this.keeper.listSessions(userId, { limit: 1000 });
    return sessions.filter((s) => s.status === "active" && s.id !== exceptId);
  }
}
