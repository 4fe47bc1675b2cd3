import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Post,
  UnauthorizedException,
  UseGuards,
} from "@nestjs/common";
import { type RequestSession, type SessionKeeper, sessionToJSON } from "sessionkeeper";
import { CurrentSession, SessionGuard } from "./session.decorators.js";
import { checkPassword, findUser } from "./users.js";

/** The injection token of the app's one SessionKeeper. */
export const KEEPER = Symbol("SessionKeeper");

@Controller()
export class AppController {
  // @Inject with a token: the example runs under tsx/esbuild, which emits no decorator metadata
  // for Nest to read constructor types from.
  constructor(@Inject(KEEPER) readonly keeper: SessionKeeper) {}

  @Post("login")
  @HttpCode(200)
  async login(
    @Body() body: { email?: unknown; password?: unknown } | undefined,
    @CurrentSession() rs: RequestSession,
  ) {
    const user = checkPassword(body?.email, body?.password);
    if (!user) throw new UnauthorizedException({ error: "invalid_credentials" });
    // Always a brand-new session and token; a session this browser held is ended.
    return { session: sessionToJSON(await rs.signIn(user.id)) };
  }

  @Get("me")
  @UseGuards(SessionGuard)
  async me(@CurrentSession() rs: RequestSession) {
    const session = rs.session;
    if (!session) throw new UnauthorizedException({ error: "unauthenticated" });
    // The injected keeper answers everything about the user's sessions, e.g. on how many devices.
    const devices = (await this.keeper.listSessions(session.userId)).filter(
      (s) => s.status === "active",
    ).length;
    return { user: findUser(session.userId), session: sessionToJSON(session), devices };
  }

  @Post("logout")
  @HttpCode(204)
  async logout(@CurrentSession() rs: RequestSession) {
    await rs.signOut();
  }

  @Get("healthz")
  health() {
    return { status: "ok" };
  }
}
