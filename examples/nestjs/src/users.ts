import { randomBytes, scryptSync, timingSafeEqual } from "node:crypto";

// The example's own user list: in a real app this is your users table. Passwords are kept as
// scrypt hashes and compared in constant time; sessionkeeper never sees them.
export interface User {
  id: string;
  email: string;
}

const salt = randomBytes(16);
const hash = (password: string) => scryptSync(password, salt, 32);
const USERS = [{ id: "u1", email: "ann@example.com", hash: hash("correct horse battery staple") }];
const DUMMY = hash("never a password");

/** The user with this email and password, or null (the same work is done for an unknown email). */
export function checkPassword(email: unknown, password: unknown): User | null {
  if (typeof email !== "string" || typeof password !== "string" || password.length > 1024)
    return null;
  const user = USERS.find((u) => u.email === email.toLowerCase());
  const ok = timingSafeEqual(hash(password), user?.hash ?? DUMMY);
  return ok && user ? { id: user.id, email: user.email } : null;
}

/** The user behind a session's user id, or null once the account is gone. */
export function findUser(id: string): User | null {
  const user = USERS.find((u) => u.id === id);
  return user ? { id: user.id, email: user.email } : null;
}
