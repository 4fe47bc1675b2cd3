import http from "node:http";

/** One answer as the suite records it: a status, or "reset" (no answer) or "timeout" (past the bound). */
export interface Answer {
  status: number | "reset" | "timeout";
  body: string;
  setCookies: string[];
  startedAt: number;
  endedAt: number;
}

/** Past this, a request counts as a hang (the bound in the invariants). */
// Above PostgreSQL's query timeout (15 s) plus two scrypts on a busy machine: a request still
// unanswered by then is stuck.
export const ANSWER_BOUND_MS = 30_000;

/**
 * One request on a new connection (no keep-alive): through the front, each request is balanced on
 * its own, and a killed instance cannot leave a dead pooled socket behind.
 */
export function send(
  port: number,
  method: string,
  path: string,
  options: { cookie?: string; json?: unknown; form?: Record<string, string> } = {},
): Promise<Answer> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const headers: Record<string, string> = {
      connection: "close",
      "user-agent": "Mozilla/5.0 (X11; Linux x86_64) faults/1.0 Chrome/131.0 Safari/537.36",
    };
    let body: string | undefined;
    if (options.cookie) headers.cookie = options.cookie;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers["content-type"] = "application/json";
    } else if (options.form) {
      body = new URLSearchParams(options.form).toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    }
    // Cross-site checks: the app's forms and API compare Origin with its own address.
    headers.origin = `http://127.0.0.1:${port}`;
    let done = false;
    const finish = (answer: Omit<Answer, "startedAt" | "endedAt">) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ...answer, startedAt, endedAt: performance.now() });
    };
    const req = http.request(
      { host: "127.0.0.1", port, method, path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          finish({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            setCookies: ([] as string[]).concat(res.headers["set-cookie"] ?? []),
          }),
        );
        res.on("error", () => finish({ status: "reset", body: "", setCookies: [] }));
      },
    );
    const timer = setTimeout(() => {
      finish({ status: "timeout", body: "", setCookies: [] });
      req.destroy();
    }, ANSWER_BOUND_MS);
    req.on("error", () => finish({ status: "reset", body: "", setCookies: [] }));
    req.end(body);
  });
}

/** The value of cookie `name` set by an answer, or null ("" when it was cleared). */
export function cookieFrom(answer: Answer, name: string): string | null {
  for (const line of answer.setCookies) {
    const [pair] = line.split(";");
    const eq = pair?.indexOf("=") ?? -1;
    if (pair && eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return null;
}
