/** The members of a node-redis client (`@redis/client` or `redis`, v5 or later) used here. */
export interface NodeRedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  duplicate(): NodeRedisClient;
  sendCommand(args: string[]): Promise<unknown>;
  subscribe(
    channel: string,
    listener: (message: string, channel: string) => void,
  ): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  destroy(): void;
}

/** The members of an ioredis client used here. */
export interface IoredisClient {
  readonly status: string;
  connect(): Promise<unknown>;
  duplicate(): IoredisClient;
  call(command: string, ...args: string[]): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  disconnect(): void;
}

/** A node-redis or an ioredis client: either works wherever sessionkeeper takes a Redis client. */
export type RedisClientLike = NodeRedisClient | IoredisClient;

/**
 * What sessionkeeper needs from one Redis connection, whichever library holds it. Commands are
 * never queued while disconnected: callers check `ready` and fail fast, since the database is the truth.
 */
export interface RedisLink {
  readonly ready: boolean;
  /** Starts connecting in the background if the client is not open yet. Never throws. */
  start(): void;
  command(args: string[]): Promise<unknown>;
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  /** Called when the connection drops or errors, and when it is ready again. */
  onState(listener: (state: "down" | "ready") => void): void;
  duplicate(): RedisLink;
  /** Closes the connection at once (used only for connections sessionkeeper opened). */
  destroy(): void;
}

/** Wraps a node-redis or ioredis client; a client of neither kind is a TypeError. */
export function redisLink(client: RedisClientLike, name = "client"): RedisLink {
  if (isNodeRedis(client)) return nodeRedisLink(client);
  if (isIoredis(client)) return ioredisLink(client);
  throw new TypeError(`options.${name} must be a node-redis (createClient) or ioredis client`);
}

function isNodeRedis(client: unknown): client is NodeRedisClient {
  const c = client as Partial<NodeRedisClient> | null;
  return (
    typeof c?.sendCommand === "function" &&
    typeof c.isReady === "boolean" &&
    typeof c.duplicate === "function"
  );
}

function isIoredis(client: unknown): client is IoredisClient {
  const c = client as Partial<IoredisClient> | null;
  return (
    typeof c?.call === "function" &&
    typeof c.status === "string" &&
    typeof c.duplicate === "function"
  );
}

function nodeRedisLink(client: NodeRedisClient): RedisLink {
  return {
    get ready() {
      return client.isReady;
    },
    start() {
      // connect() resolves only once connected and retries by the client's reconnect strategy: never awaited.
      if (!client.isOpen) client.connect().catch(() => {});
    },
    command: (args) => client.sendCommand(args),
    async subscribe(channel, onMessage) {
      await client.subscribe(channel, (message) => onMessage(message));
    },
    onState(listener) {
      // node-redis throws an unhandled "error" event when nobody listens: Redis being down must not
      // crash the app, so this listener also keeps the process alive.
      for (const event of ["error", "end", "reconnecting"])
        client.on(event, () => listener("down"));
      client.on("ready", () => listener("ready"));
    },
    duplicate: () => nodeRedisLink(client.duplicate()),
    destroy() {
      if (client.isOpen) client.destroy();
    },
  };
}

function ioredisLink(client: IoredisClient): RedisLink {
  let messageHandler: ((message: string) => void) | null = null;
  return {
    get ready() {
      return client.status === "ready";
    },
    start() {
      if (client.status === "wait") client.connect().catch(() => {});
    },
    command: ([name, ...args]) => client.call(name as string, ...args),
    async subscribe(channel, onMessage) {
      // One "message" listener however many times subscribe is retried; ioredis resubscribes itself.
      if (!messageHandler) {
        messageHandler = onMessage;
        client.on("message", (ch: string, message: string) => {
          if (ch === channel) messageHandler?.(message);
        });
      }
      await client.subscribe(channel);
    },
    onState(listener) {
      for (const event of ["error", "close", "end", "reconnecting"])
        client.on(event, () => listener("down"));
      client.on("ready", () => listener("ready"));
    },
    duplicate: () => ioredisLink(client.duplicate()),
    destroy() {
      client.disconnect();
    },
  };
}

/** Resolves or rejects like `promise`, or rejects after `ms`: a hung connection must not hang a request. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis ${what} timed out after ${ms} ms`)), ms);
  });
  promise.catch(() => {}); // the loser of the race must not become an unhandled rejection
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
