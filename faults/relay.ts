import { once } from "node:events";
import net from "node:net";

/**
 * A TCP relay on loopback in front of one server (PostgreSQL or Redis) that the fault suite
 * controls: `cut()` drops every relayed connection and refuses new ones (a network failure);
 * `restore()` listens again on the same port; `delay(ms)` holds every chunk that long in each
 * direction (2 × ms per round trip). The server behind it is never touched.
 */
export interface Relay {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  delay(ms: number): void;
  close(): Promise<void>;
}

export async function startRelay(targetPort: number, port = 0): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  let delayMs = 0;
  // Chunks are written in arrival order: setTimeout with one duration fires first-in first-out.
  const forward = (from: net.Socket, to: net.Socket) => {
    from.on("data", (chunk) => {
      if (delayMs === 0) to.write(chunk);
      else setTimeout(() => to.writable && to.write(chunk), delayMs);
    });
    from.on("end", () => {
      if (delayMs === 0) to.end();
      else setTimeout(() => to.end(), delayMs);
    });
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      // A graceful end is forwarded (after the delay); only an error tears both sides down.
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  const bound = (server.address() as net.AddressInfo).port;
  let listening = true;
  const cut = async () => {
    if (!listening) return;
    listening = false;
    const closed = once(server, "close");
    server.close();
    for (const s of sockets) s.destroy();
    await closed;
  };
  return {
    port: bound,
    cut,
    async restore() {
      if (listening) return;
      server.listen(bound, "127.0.0.1");
      await once(server, "listening");
      listening = true;
    },
    delay(ms) {
      delayMs = ms;
    },
    close: cut,
  };
}

/**
 * The load balancer: a round-robin TCP front on loopback. A backend that refuses the connection
 * (a dead instance) is skipped for the next one, as a balancer's connect failure does; once
 * connected, bytes are relayed as they are, so an instance dying mid-request resets the client.
 */
export interface Front {
  port: number;
  close(): Promise<void>;
}

export async function startFront(backends: () => number[]): Promise<Front> {
  let next = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    client.pause();
    const ports = backends();
    const tryConnect = (attempt: number) => {
      if (attempt >= ports.length) return void client.destroy();
      const port = ports[next++ % ports.length] as number;
      const upstream = net.connect(port, "127.0.0.1");
      let connected = false;
      upstream.on("error", () => {
        upstream.destroy();
        if (connected) client.destroy();
        else tryConnect(attempt + 1);
      });
      upstream.once("connect", () => {
        connected = true;
        sockets.add(upstream);
        upstream.on("close", () => sockets.delete(upstream));
        client.on("close", () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryConnect(0);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      const closed = once(server, "close");
      server.close();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
