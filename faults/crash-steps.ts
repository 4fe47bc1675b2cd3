import { type Answer, cookieFrom, send } from "./http.js";
import type { Instance } from "./instances.js";
import type { User } from "./model.js";

/** How far a held sign-in and its approval got on one instance. */
export type FlowResult =
  | { done: true; stage: "active" }
  | { done: false; stage: string; status: Answer["status"] };

/**
 * A sign-in from a device the account has never used (held for verification, mailed), its
 * approval by the mail link, and the pending device picking the approval up on its next request.
 */
export async function heldSignInFlow(port: number, user: User): Promise<FlowResult> {
  const signIn = await send(port, "POST", "/api/signin", {
    json: { email: user.email, password: user.password },
  });
  const pending = cookieFrom(signIn, "sk_session");
  if (signIn.status !== 202 || !pending)
    return { done: false, stage: "sign-in", status: signIn.status };
  const box = await send(port, "GET", "/dev/mailbox.json");
  if (box.status !== 200) return { done: false, stage: "mailbox", status: box.status };
  const messages = (JSON.parse(box.body) as { messages: { to: string; text: string }[] }).messages;
  const mail = messages.filter((m) => m.to === user.email).pop();
  const token = mail ? /signin\/approve\?token=([\w.~-]+)/.exec(mail.text)?.[1] : undefined;
  if (!token) return { done: false, stage: "mail", status: box.status };
  const approve = await send(port, "POST", "/signin/approve", { form: { token } });
  if (approve.status !== 200) return { done: false, stage: "approve", status: approve.status };
  const me = await send(port, "GET", "/api/me", { cookie: `sk_session=${pending}` });
  if (me.status !== 200) return { done: false, stage: "pick-up", status: me.status };
  return { done: true, stage: "active" };
}

export interface CrashStepResult {
  point: string;
  crashed: boolean;
  stage: string;
}

/**
 * Traces the flow's writes once on a fresh instance (FAULTS_TRACE), then for each write starts the
 * instance again with FAULTS_CRASH_AT at it, runs the flow for a fresh user until the process
 * dies, and finally starts it clean and completes a held sign-in for every user that crashed.
 */
export async function crashAtEachStep(
  crashInstance: Instance,
  users: User[],
  onStep: (point: string) => Promise<void>,
  keep: (step: string) => boolean = () => true,
): Promise<{ points: CrashStepResult[]; finalFlows: FlowResult[]; traced: string[] }> {
  const tracer = users[0] as User;
  await crashInstance.start({ FAULTS_TRACE: "1" });
  const before = crashInstance.output.length;
  const traceFlow = await heldSignInFlow(crashInstance.port, tracer);
  if (!traceFlow.done) throw new Error(`traced flow failed at ${traceFlow.stage}`);
  const traced = crashInstance.output
    .slice(before)
    .filter((l) => l.startsWith("FAULTS-STEP "))
    .map((l) => l.slice("FAULTS-STEP ".length));
  await crashInstance.stop();
  // Crash before the first write, and after each write.
  const points = [`before:${traced[0]}`, ...traced.filter(keep).map((s) => `after:${s}`)];
  const results: CrashStepResult[] = [];
  const crashed: User[] = [];
  for (const [i, point] of points.entries()) {
    const user = users[1 + i];
    if (!user) break;
    await crashInstance.start({ FAULTS_CRASH_AT: point });
    const flow = await heldSignInFlow(crashInstance.port, user);
    const died = await Promise.race([
      crashInstance.exited().then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 3000)),
    ]);
    if (!died) await crashInstance.stop();
    results.push({ point, crashed: died, stage: flow.done ? "completed" : flow.stage });
    crashed.push(user);
    await onStep(point);
  }
  // The restart: every user whose sign-in died at a step can sign in (held, approved) now.
  await crashInstance.start();
  const finalFlows: FlowResult[] = [];
  for (const user of crashed) finalFlows.push(await heldSignInFlow(crashInstance.port, user));
  await crashInstance.stop();
  return { points: results, finalFlows, traced };
}
