import { type Answer, cookieFrom, send } from "./http.js";
import { clock, type Record, sessionIdOf, type Token, type User, type Violation } from "./model.js";

const COOKIE = "sk_session";
// The answers the load's requests may get (404: a session revoked that had just expired);
// anything else (a 500, a 400, a reset, a hang) breaks an invariant.
export const ALLOWED = new Set([200, 204, 401, 403, 404, 429, 503]);

/**
 * The bounded load generator: `concurrency` users at a time, each running one operation (a chain
 * of requests) against the front, drawn from a fixed mix. Every answer is recorded with the phase
 * it started in; answers that contradict what earlier answers established are violations.
 */
export class Load {
  readonly records: Record[] = [];
  readonly violations: Violation[] = [];
  phase = "baseline";
  #running = false;
  #loops: Promise<void>[] = [];

  constructor(
    readonly users: User[],
    readonly port: () => number,
    readonly concurrency: number,
  ) {}

  start(): void {
    this.#running = true;
    for (let i = 0; i < this.concurrency; i++) this.#loops.push(this.#loop());
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    this.#loops = [];
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      const user = this.#pickUser();
      if (!user) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      user.busy = true;
      try {
        await this.#operate(user);
      } finally {
        user.busy = false;
      }
    }
  }

  #pickUser(): User | null {
    for (let i = 0; i < 20; i++) {
      const u = this.users[Math.floor(Math.random() * this.users.length)] as User;
      if (!u.busy && !u.retired) return u;
    }
    return null;
  }

  async #request(
    op: string,
    method: string,
    path: string,
    options: { token?: Token; json?: unknown } = {},
  ): Promise<Answer> {
    const port = this.port();
    const phase = this.phase;
    const answer = await send(port, method, path, {
      ...(options.token ? { cookie: `${COOKIE}=${options.token.value}` } : {}),
      ...(options.json !== undefined ? { json: options.json } : {}),
    });
    this.records.push({
      op,
      phase,
      port,
      answer,
      ...(options.token ? { token: options.token } : {}),
    });
    return answer;
  }

  async #operate(u: User): Promise<void> {
    const r = Math.random();
    // Sessions past their expiry join the ended ones: a 200 for them is a violation from now on.
    const now = clock.toEpoch(performance.now());
    for (const t of u.live.filter((x) => x.expiresAt < now)) {
      u.live = u.live.filter((x) => x !== t);
      u.ended.push(t);
    }
    const live = u.live.filter(
      (t) => !t.uncertain && clock.toEpoch(performance.now()) < t.expiresAt - 1000,
    );
    if (live.length === 0 || r < 0.06) return void (await this.#signIn(u));
    const a = live[Math.floor(Math.random() * live.length)] as Token;
    const others = live.filter((t) => t !== a);
    if (r < 0.12) return this.#signOut(a);
    if (r < 0.2 && others.length > 0)
      return this.#revoke(a, others[Math.floor(Math.random() * others.length)] as Token);
    if (r < 0.22 && others.length > 0) return this.#revokeOthers(u, a);
    if (r < 0.24) return this.#changePassword(u, a);
    // A validation, now and then of a session known to have ended (or expired).
    const past = u.ended.length > 0 && Math.random() < 0.15;
    await this.validate(past ? (u.ended[Math.floor(Math.random() * u.ended.length)] as Token) : a);
  }

  /** GET /api/me with the token; a 200 for a session known to be over is a violation. */
  async validate(t: Token): Promise<Answer> {
    const answer = await this.#request("validate", "GET", "/api/me", { token: t });
    if (answer.status === 200) {
      if (t.endedAt !== null && t.endedAt < answer.startedAt)
        this.#violate(
          "ended_session_accepted",
          `session ${t.id.slice(0, 8)} accepted ${Math.round(answer.startedAt - t.endedAt)} ms after its end was answered`,
        );
      if (t.expiresAt < clock.toEpoch(answer.startedAt))
        this.#violate(
          "expired_session_accepted",
          `session ${t.id.slice(0, 8)} accepted after its expiry`,
        );
    } else if (answer.status === 401 && t.endedAt === null) {
      // Ended by an operation whose answer was lost, or expired: no longer offered as live.
      this.#end(t, null);
    }
    return answer;
  }

  #violate(kind: string, detail: string) {
    this.violations.push({ kind, phase: this.phase, detail });
  }

  #end(t: Token, at: number | null) {
    const u = this.users.find((x) => x.id === t.userId);
    if (at !== null && t.endedAt === null) t.endedAt = at;
    if (at === null) t.uncertain = true;
    if (!u) return;
    u.live = u.live.filter((x) => x !== t);
    if (at !== null) {
      u.ended.push(t);
      if (u.ended.length > 6) u.ended.shift();
    }
  }

  async #signIn(u: User): Promise<void> {
    const answer = await this.#request("sign_in", "POST", "/api/signin", {
      json: { email: u.email, password: u.password },
    });
    const value = cookieFrom(answer, COOKIE);
    if (answer.status === 200 && value) {
      const body = JSON.parse(answer.body) as { session: { expiresAt: string } };
      u.live.push({
        value,
        id: sessionIdOf(value),
        userId: u.id,
        expiresAt: Date.parse(body.session.expiresAt),
        endedAt: null,
        uncertain: false,
      });
    }
  }

  async #signOut(a: Token): Promise<void> {
    const answer = await this.#request("sign_out", "POST", "/api/signout", { token: a });
    if (answer.status === 204) {
      this.#end(a, answer.endedAt);
      await this.validate(a); // straight after, through the front: most likely another instance
    } else if (answer.status !== 401) this.#end(a, null);
  }

  async #revoke(a: Token, b: Token): Promise<void> {
    const answer = await this.#request("revoke", "DELETE", `/api/sessions/${b.id}`, { token: a });
    if (answer.status === 204) {
      this.#end(b, answer.endedAt);
      await this.validate(b);
    } else if (answer.status !== 401 && answer.status !== 404) this.#end(b, null);
    else if (answer.status === 401) this.#end(a, null);
  }

  async #revokeOthers(u: User, a: Token): Promise<void> {
    const others = u.live.filter((t) => t !== a);
    const answer = await this.#request("revoke_others", "POST", "/api/sessions/revoke-others", {
      token: a,
    });
    if (answer.status === 200) {
      for (const t of others) this.#end(t, answer.endedAt);
      if (others[0]) await this.validate(others[0]);
    } else if (answer.status !== 401) for (const t of others) this.#end(t, null);
  }

  async #changePassword(u: User, a: Token): Promise<void> {
    const others = u.live.filter((t) => t !== a);
    const password = `pw-${Math.random().toString(36).slice(2)}-x`;
    const answer = await this.#request("password", "POST", "/api/password", {
      token: a,
      json: { currentPassword: u.password, newPassword: password },
    });
    const rotated = cookieFrom(answer, COOKIE);
    if (answer.status === 204 && rotated) {
      u.password = password;
      // The old value of this cookie dies with the rotation; every other session ends.
      const next: Token = { ...a, value: rotated, endedAt: null, uncertain: false };
      for (const t of [...others, a]) this.#end(t, answer.endedAt);
      u.live.push(next);
      await this.validate(a);
    } else if (answer.status === 401 || answer.status === 429) {
      // Refused before anything changed.
    } else {
      u.retired = true;
      for (const t of [...others, a]) this.#end(t, null);
    }
  }
}
