import type { ServerResponse } from "node:http";
import type { LiveChannel } from "./live-channel.js";

// The live stream over the two kinds of response the adapters have: Node's (Express, Fastify) and
// the Web's (Hono, fetch handlers). Both answer 401 without a live (active or pending) session and 503 when the
// instance holds its maximum of streams; neither ever sends CORS headers.

export const STREAM_HEADERS: Record<string, string> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  // nginx and similar proxies buffer responses unless told not to: the page would learn late.
  "x-accel-buffering": "no",
};

/** What a stream needs of the request's session (a `RequestSession`). */
export interface StreamingSession {
  readonly session: { id: string; userId: string } | null;
  readonly pendingSession: { id: string; userId: string } | null;
}

/** The session a stream is for: the active one, or a pending one waiting for its approval. */
function targetOf(rs: StreamingSession | null | undefined): {
  sessionId: string | null;
  options: { waiting: boolean; userId: string | null };
} {
  const active = rs?.session ?? null;
  if (active !== null)
    return { sessionId: active.id, options: { waiting: false, userId: active.userId } };
  const pending = rs?.pendingSession ?? null;
  return {
    sessionId: pending?.id ?? null,
    options: { waiting: true, userId: pending?.userId ?? null },
  };
}

const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
};

/** Streams to a Node response until the session ends or the client goes. */
export function streamToNode(
  channel: LiveChannel,
  rs: StreamingSession | null | undefined,
  res: ServerResponse,
): void {
  const { sessionId, options } = targetOf(rs);
  if (sessionId === null) {
    res.writeHead(401, JSON_HEADERS).end(JSON.stringify({ error: "unauthenticated" }));
    return;
  }
  const stream = channel.open(
    sessionId,
    (chunk) => res.write(chunk),
    () => res.end(),
    options,
  );
  if (!stream) {
    res.writeHead(503, JSON_HEADERS).end(JSON.stringify({ error: "too_many_streams" }));
    return;
  }
  res.writeHead(200, STREAM_HEADERS);
  res.write(stream.opening);
  res.on("close", () => stream.close());
}

/** A Web `Response` that streams until the session ends, the client goes or `signal` aborts. */
export function streamToWeb(
  channel: LiveChannel,
  rs: StreamingSession | null | undefined,
  signal?: AbortSignal,
): Response {
  const { sessionId, options } = targetOf(rs);
  if (sessionId === null)
    return Response.json({ error: "unauthenticated" }, { status: 401, headers: JSON_HEADERS });
  const encoder = new TextEncoder();
  let close = () => {};
  let body: ReadableStreamDefaultController<Uint8Array> | null = null;
  const stream = channel.open(
    sessionId,
    (chunk) => body?.enqueue(encoder.encode(chunk)),
    () => {
      try {
        body?.close();
      } catch {
        // already closed by the client
      }
    },
    options,
  );
  if (!stream)
    return Response.json({ error: "too_many_streams" }, { status: 503, headers: JSON_HEADERS });
  close = () => stream.close();
  signal?.addEventListener("abort", close, { once: true });
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      body = controller;
      controller.enqueue(encoder.encode(stream.opening));
    },
    cancel() {
      close();
    },
  });
  return new Response(readable, { status: 200, headers: STREAM_HEADERS });
}
