import { mkdirSync } from "node:fs";
import { createApp } from "./app.js";

mkdirSync("data", { recursive: true });
const { app } = await createApp({
  databasePath: process.env.DATABASE_PATH ?? "data/nestjs-example.db",
});
await app.listen(Number(process.env.PORT ?? 3000), "127.0.0.1");
// The test reads this line for the port (PORT=0 picks a free one).
console.log(`NestJS example on ${await app.getUrl()}`);
