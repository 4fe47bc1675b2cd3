import { type NextRequest, NextResponse } from "next/server";
import { getKeeper } from "./lib/keeper";

// Next 16's proxy (formerly middleware) runs on the Node.js runtime, so it can read the SQLite
// session store: signed-out visitors of a protected page are sent to the start page before it renders.
export async function proxy(request: NextRequest) {
  const keeper = await getKeeper();
  const info = keeper.requestInfo({
    method: request.method,
    path: request.nextUrl.pathname,
    header: (name) => request.headers.get(name),
    socketAddress: null,
    encrypted: request.nextUrl.protocol === "https:",
  });
  const found = await keeper.validate(info);
  if (found?.record.status === "active") return NextResponse.next();
  return NextResponse.redirect(new URL("/", request.url));
}

export const config = { matcher: ["/dashboard/:path*"] };
