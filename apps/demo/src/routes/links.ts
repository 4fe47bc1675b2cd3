import { type Request, Router } from "express";
import { type Guard, renderLinkPage, renderLinkResultPage } from "sessionkeeper";
import { sessionContext } from "sessionkeeper/express";

// The links in sign-in mails. GET only shows a page with a button: mail scanners prefetch links,
// so a GET must never approve or end anything. The POST acts.

function token(req: Request): unknown {
  const body = req.body as Record<string, unknown> | undefined;
  return body?.token ?? req.query.token;
}

export function linkRoutes(guard: Guard, appName: string): Router {
  const router = Router();
  const send = (
    res: import("express").Response,
    page: { status: number; headers: Record<string, string>; body: string },
  ) => res.status(page.status).set(page.headers).send(page.body);

  router.get("/signin/approve", async (req, res) =>
    send(res, renderLinkPage(await guard.inspectLink("approve", req.query.token))),
  );
  router.get("/signin/not-me", async (req, res) =>
    send(res, renderLinkPage(await guard.inspectLink("not-me", req.query.token))),
  );

  router.post("/signin/approve", async (req, res) => {
    send(
      res,
      renderLinkResultPage(await guard.approveByLink(token(req), sessionContext(req).info), {
        appName,
      }),
    );
  });
  router.post("/signin/not-me", async (req, res) => {
    send(
      res,
      renderLinkResultPage(await guard.denyByLink(token(req), sessionContext(req).info), {
        appName,
        securityPath: "/account/security",
      }),
    );
  });
  return router;
}
