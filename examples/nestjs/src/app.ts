import "reflect-metadata";
import { Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import type { NestExpressApplication } from "@nestjs/platform-express";
import Database from "better-sqlite3";
import { createSessionKeeper } from "sessionkeeper";
import { accountApi, accountPages, sessionMiddleware } from "sessionkeeper/express";
import { sqliteStorage } from "sessionkeeper/sqlite";
import { AppController, KEEPER } from "./app.controller.js";
import { StorageErrorFilter } from "./session.decorators.js";

/** NestJS 12 on its Express platform with sessionkeeper's Express middleware. */
export async function createApp(options: { databasePath: string }) {
  const keeper = createSessionKeeper({
    storage: sqliteStorage(new Database(options.databasePath)),
    excludePaths: ["/healthz"],
  });
  await keeper.migrate();

  @Module({ controllers: [AppController], providers: [{ provide: KEEPER, useValue: keeper }] })
  class AppModule {}

  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: false });
  // Before Nest's routes: every request gets its session (or the origin check's 403, or 503).
  app.use(sessionMiddleware(keeper));
  app.use("/account", accountPages(keeper, { title: "NestJS example", signInPath: "/" }));
  app.use("/api", accountApi(keeper));
  app.useGlobalFilters(new StorageErrorFilter());
  return { app, keeper };
}
