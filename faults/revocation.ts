import { send } from "./http.js";
import type { Instance } from "./instances.js";
import type { Token, User } from "./model.js";
import type { Seeder } from "./seed.js";

const GIVE_UP_MS = 5000;

/** Per revocation and other instance: ms from the revoking answer to that instance's first refusal. */
export interface RevocationRun {
  latencies: number[];
  /** Requests sent after the revoking answer that were still accepted (must be 0 with Redis up). */
  acceptedAfter: number;
  /** Answers other than 200/401 while polling (503 while storage is out, resets). */
  other: number;
  /** For comparison: one validation's round trip (the warm-up requests), ms. */
  roundTrips: number[];
  /** Instances that still accepted the session 5 s after the revoking answer (polling stops). */
  neverRefused: number;
  revocations: number;
}

/**
 * Revokes `count` sessions, each warm in every instance's cache (validated on each first), through
 * the instances in turn, and polls every other instance directly until it refuses the session.
 */
export async function measureRevocations(
  instances: Instance[],
  seeder: Seeder,
  users: User[],
  count: number,
): Promise<RevocationRun> {
  const run: RevocationRun = {
    latencies: [],
    roundTrips: [],
    acceptedAfter: 0,
    other: 0,
    neverRefused: 0,
    revocations: 0,
  };
  const actors = new Map<User, Token>();
  for (const u of users) actors.set(u, await seeder.session(u));
  for (let i = 0; i < count; i++) {
    const user = users[i % users.length] as User;
    const actor = actors.get(user) as Token;
    const victim = await seeder.session(user);
    const cookie = `sk_session=${victim.value}`;
    for (const inst of instances) {
      const warm = await send(inst.port, "GET", "/api/me", { cookie });
      run.roundTrips.push(warm.endedAt - warm.startedAt);
    }
    const via = instances[i % instances.length] as Instance;
    const revoke = await send(via.port, "DELETE", `/api/sessions/${victim.id}`, {
      cookie: `sk_session=${actor.value}`,
    });
    user.live = user.live.filter((t) => t !== victim);
    if (revoke.status !== 204) {
      run.other++;
      continue;
    }
    run.revocations++;
    const revokedAt = revoke.endedAt;
    await Promise.all(
      instances
        .filter((inst) => inst !== via)
        .map(async (inst) => {
          while (performance.now() - revokedAt < GIVE_UP_MS) {
            const me = await send(inst.port, "GET", "/api/me", { cookie });
            if (me.status === 401) return void run.latencies.push(me.endedAt - revokedAt);
            if (me.status === 200) run.acceptedAfter++;
            else run.other++;
          }
          run.neverRefused++;
        }),
    );
  }
  return run;
}
