import { openRedis } from "sessionkeeper/redis";
import { createDemoApp } from "../apps/demo/src/app.js";
import { readConfig } from "../apps/demo/src/config.js";
import { openDemoStorage } from "../apps/demo/src/storage.js";
import { crashHook } from "./crash-hook.js";

// The reference app as apps/demo/src/main.ts starts it, plus the fault suite's crash points
// (crash-hook.ts): the suite starts this file, never users. Without FAULTS_* it is main.ts.
const config = readConfig();
const hook = crashHook(process.env);
const opened = await openDemoStorage(config.databaseUrl);
const storage = {
  store: hook.wrapStore(opened.store),
  db: opened.db.withPlugin(hook.plugin),
  close: opened.close,
};
const publicUrl = `http://${config.host}:${config.port}`;
const redis = config.redisUrl ? await openRedis(config.redisUrl) : null;
const demo = await createDemoApp(config, { storage, publicUrl, ...(redis ? { redis } : {}) });
const server = demo.app.listen(config.port, config.host, () => {
  hook.arm();
  console.log(`sessionkeeper demo listening on ${publicUrl}`);
});
const stop = () => {
  server.close();
  void demo.close().finally(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
