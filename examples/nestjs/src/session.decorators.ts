import {
  type ArgumentsHost,
  type CanActivate,
  Catch,
  createParamDecorator,
  type ExceptionFilter,
  type ExecutionContext,
  HttpException,
  Injectable,
  UnauthorizedException,
} from "@nestjs/common";
import type { Request, Response } from "express";
import { isStorageError, type RequestSession } from "sessionkeeper";
import { sessionContext } from "sessionkeeper/express";

// Nest on its Express platform: sessionkeeper's Express middleware runs before Nest's routing and
// leaves the request's RequestSession on req.sessionkeeper. A guard and a parameter decorator
// give controllers the Nest-shaped view of it.

/** Lets a route run only with an active session; otherwise 401 `{"error":"unauthenticated"}`. */
@Injectable()
export class SessionGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    if (request.sessionkeeper?.session) return true;
    throw new UnauthorizedException({ error: "unauthenticated" });
  }
}

/**
 * The request's RequestSession (`@CurrentSession() rs: RequestSession`): `rs.session`, `rs.userId`,
 * `rs.signIn()`, `rs.signOut()`. Throws when sessionMiddleware did not run (a set-up mistake).
 */
export const CurrentSession = createParamDecorator(
  (_data: unknown, context: ExecutionContext): RequestSession => {
    // Throws when sessionMiddleware did not run before Nest's routes.
    return sessionContext(context.switchToHttp().getRequest<Request>());
  },
);

/**
 * Storage down inside a controller answers 503, never Nest's 500 (and drops a cookie queued
 * before the failure); other errors get Nest's usual answers.
 */
@Catch()
export class StorageErrorFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (isStorageError(error)) {
      res.removeHeader("Set-Cookie");
      res.status(503).json({ error: "storage_unavailable" });
    } else if (error instanceof HttpException) {
      res.status(error.getStatus()).json(error.getResponse());
    } else {
      console.error(error);
      res.status(500).json({ error: "internal_error" });
    }
  }
}
