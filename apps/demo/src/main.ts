import { openRedis } from "sessionkeeper/redis";
import { createDemoApp } from "./app.js";
import { ConfigError, readConfig } from "./config.js";
import { openDbipGeo } from "./geo.js";
import { openDemoStorage } from "./storage.js";

// The reference app's entry point: `npm start` from the repository root.
try {
  const config = readConfig();
  const storage = await openDemoStorage(config.databaseUrl);
  const geo = await openDbipGeo();
  const publicUrl =
    config.publicUrl ??
    `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`;
  // openRedis returns at once even when Redis is down: instances then serve from the database.
  const redis = config.redisUrl ? await openRedis(config.redisUrl) : null;
  const demo = await createDemoApp(config, {
    storage,
    publicUrl,
    ...(geo ? { geo } : {}),
    ...(redis ? { redis } : {}),
  });
  const server = demo.app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    console.log(`sessionkeeper demo listening on http://${config.host}:${port}`);
  });
  const stop = () => {
    server.close();
    void demo.close().finally(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (error) {
  // Settings the app or the library refused (a bad URL, address or option): say which, no stack.
  if (error instanceof ConfigError || error instanceof TypeError) {
    console.error(`configuration error: ${error.message}`);
    process.exit(2);
  }
  throw error;
}
