import { parseDuration } from "../duration.js";
import type { EndEventType, SessionEvent, TransitionEvent } from "../events.js";
import type { SessionKeeper } from "../session-keeper.js";
import type { EndReason } from "../types.js";
import { endedMessage } from "./words.js";

/** A channel to every app instance (`openRedis(url).cache` fits), as the guard's `broadcast`. */
export interface LiveBroadcast {
  publish(topic: string, data: unknown): Promise<unknown>;
  onMessage(listener: (topic: string, data: unknown) => void): unknown;
}

export interface LiveChannelOptions {
  /** Tells the other instances at once when a session ends here. Without it they notice by `checkInterval`. */
  broadcast?: LiveBroadcast;
  /**
   * How often each instance re-reads the sessions it streams to (one lookup per streamed session),
   * to notice endings no event told it about: the CLI, another instance without a broadcast, a
   * timeout. Default `"1s"`.
   */
  checkInterval?: string | number;
  /** Open streams per session; a newer one closes the oldest. Default 4. */
  maxStreamsPerSession?: number;
  /**
   * Open streams per user over all their sessions; a newer one closes the user's oldest. Default
   * 40. One account signed in many times cannot take the instance's streams from everyone else.
   */
  maxStreamsPerUser?: number;
  /** Open streams per instance; past it a new stream is refused (503). Default 10000. */
  maxStreams?: number;
  /** A comment line every so often keeps proxies from closing an idle stream. Default `"25s"`. */
  heartbeat?: string | number;
  /**
   * The sign-in guard (`createGuard`): a waiting page's stream then also learns of an approval
   * it was not told of (given before the stream opened, or on an instance without a broadcast),
   * when it opens and then every `checkInterval`.
   */
  approvals?: { isSignInApproved(sessionId: string): Promise<boolean> };
}

/** What a page is told when its session ends. */
export interface EndedNotice {
  reason: EndReason;
  /** Words for the reader: "You were signed out from Chrome on Windows". */
  message: string;
}

/** One open stream, as an adapter sees it. */
export interface LiveStream {
  /** Text to write to the response now (the stream's opening lines). */
  readonly opening: string;
  /** Stops listening: the response was closed. */
  close(): void;
}

interface Listener {
  sessionId: string;
  userId: string | null;
  write(chunk: string): void;
  end(): void;
  /** Opened by a sign-in held for verification: told `approved` when it may continue. */
  waiting: boolean;
}

const TOPIC = "sessionkeeper:live";
// Its own topic: an instance that predates it ignores it rather than reading it as an ending.
const APPROVED_TOPIC = "sessionkeeper:live:approved";
const APPROVED_CHUNK = "event: approved\ndata: {}\n\n";
// An approval (emailed link, another device) or an activation (the code) lets the waiting page on.
const APPROVAL_TYPES = new Set<string>(["verification_approved", "session_activated"]);
const END_TYPES = new Set<string>([
  "sign_out",
  "session_revoked",
  "session_expired",
  "session_locked",
]);

/**
 * Tells open pages when their session ends, anywhere: a server-sent events stream per tab (the
 * adapters' `liveEvents` handlers), fed by this instance's own session events, by the other
 * instances through `broadcast`, and by a re-read every `checkInterval` for what no event told
 * (the CLI, timeouts). The stream says `event: ended` with `{reason, message}` and closes.
 *
 * A sign-in held for new-device verification may stream too (the verify page): when it is
 * approved anywhere (the code, the emailed link, another signed-in device) its stream says
 * `event: approved` and closes, and the page goes on to complete the sign-in.
 */
export class LiveChannel {
  readonly #keeper: SessionKeeper;
  readonly #broadcast: LiveBroadcast | null;
  readonly #perSession: number;
  readonly #perUser: number;
  readonly #max: number;
  readonly #heartbeat: number;
  readonly #checkInterval: number;
  readonly #approvals: LiveChannelOptions["approvals"] | null;
  readonly #streams = new Map<string, Set<Listener>>();
  /** The same listeners by user, oldest first. */
  readonly #byUser = new Map<string, Set<Listener>>();
  #count = 0;
  #timer: NodeJS.Timeout | null = null;
  #beat: NodeJS.Timeout | null = null;
  #checking = false;
  readonly #unsubscribe: () => void;

  constructor(keeper: SessionKeeper, options: LiveChannelOptions = {}) {
    this.#keeper = keeper;
    this.#broadcast = resolveBroadcast(options.broadcast);
    this.#checkInterval = duration("checkInterval", options.checkInterval ?? "1s", 50);
    this.#heartbeat = duration("heartbeat", options.heartbeat ?? "25s", 1000);
    this.#perSession = count("maxStreamsPerSession", options.maxStreamsPerSession ?? 4);
    this.#perUser = count("maxStreamsPerUser", options.maxStreamsPerUser ?? 40);
    this.#max = count("maxStreams", options.maxStreams ?? 10_000);
    if (
      options.approvals !== undefined &&
      typeof options.approvals?.isSignInApproved !== "function"
    )
      throw new TypeError("live options.approvals must be the sign-in guard (createGuard)");
    this.#approvals = options.approvals ?? null;
    this.#unsubscribe = keeper.subscribe((event) => this.#onEvent(event));
    this.#broadcast?.onMessage((topic, data) => {
      if (topic === TOPIC && isNotice(data)) this.#deliver(data.sessionId, data);
      else if (topic === APPROVED_TOPIC && isApproval(data)) this.#approve(data.sessionId);
    });
  }

  /** Streams open on this instance. */
  get size(): number {
    return this.#count;
  }

  /**
   * Opens a stream for a session; null when this instance holds `maxStreams` already. The caller
   * writes `opening`, then whatever `write` is given, and calls `close()` when the response closes.
   * `waiting`: the session is pending (new-device verification); it is told when it is approved.
   * `userId`: whose session it is, for the per-user bound.
   */
  open(
    sessionId: string,
    write: (chunk: string) => void,
    end: () => void,
    options: { waiting?: boolean; userId?: string | null } = {},
  ): LiveStream | null {
    const userId = options.userId ?? null;
    // A newer tab wins: the oldest stream of this session, then of this user, is closed (its page
    // may reconnect, and then closes another of the same user's, never someone else's).
    this.#trim(this.#streams.get(sessionId), this.#perSession);
    if (userId !== null) this.#trim(this.#byUser.get(userId), this.#perUser);
    if (this.#count >= this.#max) return null;
    let set = this.#streams.get(sessionId);
    if (!set) {
      set = new Set();
      this.#streams.set(sessionId, set);
    }
    const listener: Listener = { sessionId, userId, write, end, waiting: options.waiting === true };
    set.add(listener);
    if (userId !== null) {
      let mine = this.#byUser.get(userId);
      if (!mine) {
        mine = new Set();
        this.#byUser.set(userId, mine);
      }
      mine.add(listener);
    }
    this.#count++;
    this.#start();
    // Approved before this stream opened: tell it at once rather than at the next check.
    if (listener.waiting && this.#approvals)
      this.#approvals
        .isSignInApproved(sessionId)
        .then((yes) => yes && this.#approve(sessionId))
        .catch(() => {});
    return {
      // `retry`: how long a browser waits before reconnecting (after a restart, say).
      opening: "retry: 2000\n: open\n\n",
      close: () => this.#remove(sessionId, listener),
    };
  }

  /** Closes every stream and stops listening. */
  close(): void {
    this.#unsubscribe();
    for (const [id, set] of this.#streams)
      for (const listener of set) {
        this.#remove(id, listener);
        listener.end();
      }
    this.#stop();
  }

  #onEvent(event: SessionEvent): void {
    if (APPROVAL_TYPES.has(event.type) && event.sessionId) {
      const sessionId = event.sessionId;
      this.#approve(sessionId);
      this.#broadcast?.publish(APPROVED_TOPIC, { sessionId }).catch(() => {});
      return;
    }
    if (!END_TYPES.has(event.type)) return;
    const ending = event as TransitionEvent & { type: EndEventType; reason: EndReason };
    const notice = {
      sessionId: ending.sessionId,
      reason: ending.reason,
      message: endedMessage(ending.reason, ending.request, ending.actor),
    };
    this.#deliver(notice.sessionId, notice);
    // Other instances hear it through the broadcast (ours comes back too and finds no stream).
    this.#broadcast?.publish(TOPIC, notice).catch(() => {});
  }

  #deliver(sessionId: string, notice: EndedNotice): void {
    const set = this.#streams.get(sessionId);
    if (!set) return;
    const chunk = `event: ended\ndata: ${JSON.stringify({ reason: notice.reason, message: notice.message })}\n\n`;
    for (const listener of [...set]) {
      this.#remove(sessionId, listener);
      try {
        listener.write(chunk);
      } finally {
        listener.end();
      }
    }
  }

  /** Tells the waiting streams of a session that it may continue, and closes them. */
  #approve(sessionId: string): void {
    const set = this.#streams.get(sessionId);
    if (!set) return;
    for (const listener of [...set]) {
      if (!listener.waiting) continue;
      this.#remove(sessionId, listener);
      try {
        listener.write(APPROVED_CHUNK);
      } finally {
        listener.end();
      }
    }
  }

  #remove(sessionId: string, listener: Listener): void {
    const set = this.#streams.get(sessionId);
    if (!set?.delete(listener)) return;
    this.#count--;
    if (set.size === 0) this.#streams.delete(sessionId);
    if (listener.userId !== null) {
      const mine = this.#byUser.get(listener.userId);
      mine?.delete(listener);
      if (mine?.size === 0) this.#byUser.delete(listener.userId);
    }
    if (this.#count === 0) this.#stop();
  }

  /** Closes the oldest streams of `set` until fewer than `limit` are left. */
  #trim(set: Set<Listener> | undefined, limit: number): void {
    while (set && set.size >= limit) {
      const oldest = set.values().next().value as Listener;
      this.#remove(oldest.sessionId, oldest);
      oldest.end();
    }
  }

  #start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#check(), this.#checkInterval);
    this.#beat = setInterval(() => {
      for (const set of this.#streams.values()) for (const l of set) l.write(": ping\n\n");
    }, this.#heartbeat);
    this.#timer.unref();
    this.#beat.unref();
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#beat) clearInterval(this.#beat);
    this.#timer = null;
    this.#beat = null;
  }

  /** Re-reads each streamed session; an ended or timed-out one is told. Storage errors wait for the next round. */
  async #check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const now = this.#keeper.now();
      const { idleTimeout, browserSessionIdleTimeout } = this.#keeper.settings;
      for (const sessionId of [...this.#streams.keys()]) {
        const session = await this.#keeper.getSession(sessionId).catch(() => undefined);
        if (session === undefined) continue;
        let reason: EndReason | null = null;
        if (session === null) reason = "revoked_by_admin";
        else if (session.status !== "active" && session.status !== "pending")
          reason = session.endReason ?? "sign_out";
        else if (now >= session.expiresAt) reason = "absolute_timeout";
        else if (
          now - session.lastSeenAt >=
          (session.rememberMe === false ? browserSessionIdleTimeout : idleTimeout)
        )
          reason = "idle_timeout";
        // A waiting page whose sign-in was activated or approved where no event reached here.
        else if (session.status === "active") this.#approve(sessionId);
        else if (await this.#approvals?.isSignInApproved(sessionId).catch(() => false))
          this.#approve(sessionId);
        if (reason !== null)
          this.#deliver(sessionId, { reason, message: endedMessage(reason, null, null) });
      }
    } finally {
      this.#checking = false;
    }
  }
}

interface Notice extends EndedNotice {
  sessionId: string;
}

function isNotice(data: unknown): data is Notice {
  if (typeof data !== "object" || data === null) return false;
  const d = data as Record<string, unknown>;
  return (
    typeof d.sessionId === "string" &&
    d.sessionId.length <= 64 &&
    typeof d.reason === "string" &&
    d.reason.length <= 64 &&
    typeof d.message === "string" &&
    d.message.length <= 300
  );
}

function isApproval(data: unknown): data is { sessionId: string } {
  if (typeof data !== "object" || data === null) return false;
  const id = (data as Record<string, unknown>).sessionId;
  return typeof id === "string" && id.length > 0 && id.length <= 64;
}

function resolveBroadcast(b: LiveBroadcast | undefined): LiveBroadcast | null {
  if (b === undefined) return null;
  if (typeof b?.publish !== "function" || typeof b?.onMessage !== "function")
    throw new TypeError(
      "live options.broadcast must have publish(topic, data) and onMessage(listener)",
    );
  return b;
}

function duration(name: string, value: string | number, min: number): number {
  const ms = parseDuration(value);
  if (ms === null || ms < min)
    throw new TypeError(`live options.${name} must be a duration of at least ${min} ms`);
  return ms;
}

function count(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new TypeError(`live options.${name} must be a positive integer`);
  return value;
}
