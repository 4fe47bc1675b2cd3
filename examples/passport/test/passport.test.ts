import type { AddressInfo } from "node:net";
import { runExampleScenario } from "../../test-kit/scenario.js";
import { tempDatabase } from "../../test-kit/temp-db.js";
import { createApp } from "../src/app.js";

runExampleScenario("Passport.js", async () => {
  const db = tempDatabase("passport");
  const { app, keeper } = await createApp({ databasePath: db.path });
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await keeper.close();
      db.remove();
    },
  };
});
