import { mkdirSync } from "node:fs";
import { createApp } from "./app.js";

mkdirSync("data", { recursive: true });
const { app } = await createApp({ databasePath: "data/koa-example.db" });
const port = Number(process.env.PORT ?? 3000);
app.listen(port, "127.0.0.1", () => console.log(`Koa example on http://127.0.0.1:${port}`));
