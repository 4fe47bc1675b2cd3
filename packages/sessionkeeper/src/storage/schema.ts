// Times are epoch milliseconds in BIGINT columns: PostgreSQL and MySQL drivers may return them as
// strings, so every read goes through Number().
export interface SessionsTable {
  id: string;
  secret_hash: string;
  user_id: string;
  status: string;
  end_reason: string | null;
  created_at: number | string;
  last_seen_at: number | string;
  expires_at: number | string;
  ended_at: number | string | null;
  ip: string;
  last_ip: string;
  user_agent: string;
  browser_name: string | null;
  browser_version: string | null;
  os_name: string | null;
  os_version: string | null;
  device_type: string | null;
  country: string | null;
  region: string | null;
  city: string | null;
  device_id: string | null;
  /** 1 = a lasting cookie, 0 = until the browser closes (migration 0003). */
  remember_me: number | string;
  /** The app's session data as JSON text (migration 0003). */
  data: string | null;
  authenticated_at: number | string | null;
  auth_factor: string | null;
  proof_used_at: number | string | null;
  /** Device binding (migration 0005): the public JWK as JSON text, its algorithm, the bound cookie. */
  dbsc_key: string | null;
  dbsc_alg: string | null;
  dbsc_cookie_hash: string | null;
  dbsc_cookie_expires_at: number | string | null;
  dbsc_bound_at: number | string | null;
  /** The user's name for the device (migration 0007). */
  name: string | null;
  /** The model from client hints (migration 0007). */
  device_model: string | null;
}

/** Single-use DBSC challenges (migration 0005): only the SHA-256 of each is kept. */
export interface DeviceChallengesTable {
  hash: string;
  session_id: string;
  expires_at: number | string;
}

export interface LoginEventsTable {
  id: string;
  user_id: string | null;
  session_id: string | null;
  type: string;
  reason: string | null;
  ip: string | null;
  user_agent: string | null;
  browser_name: string | null;
  browser_version: string | null;
  os_name: string | null;
  os_version: string | null;
  device_type: string | null;
  country: string | null;
  region: string | null;
  city: string | null;
  created_at: number | string;
}

export interface IpRulesTable {
  id: string;
  scope: string; // "global" | "account"
  user_id: string | null;
  action: string; // "deny" | "allow"
  cidr: string;
  note: string | null;
  created_at: number | string;
}

export interface VerificationsTable {
  id: string;
  kind: string; // "verification" | "alert"
  session_id: string;
  user_id: string;
  code_hash: string | null;
  approve_hash: string | null;
  deny_hash: string;
  attempts: number;
  expires_at: number | string;
  approved_at: number | string | null;
  used_at: number | string | null;
  created_at: number | string;
}

export interface KnownDevicesTable {
  user_id: string;
  kind: string; // "device" (hashed device cookie) | "ip"
  value: string;
  first_seen_at: number | string;
  last_seen_at: number | string;
  latitude: number | string | null;
  longitude: number | string | null;
}

export interface CountersTable {
  key: string;
  count: number;
  reset_at: number | string;
}

/** One registered passkey (WebAuthn credential) of a user: only its public key is kept. */
export interface PasskeysTable {
  id: string; // the credential id, base64url
  user_id: string;
  name: string;
  public_key: string; // COSE public key, base64url
  counter: number | string;
  transports: string | null; // comma-separated
  created_at: number | string;
  last_used_at: number | string | null;
}

/** Single-use, short-lived state of a re-authentication (migration 0006): see `ReauthState`. */
export interface ReauthStateTable {
  id: string;
  session_id: string;
  kind: string; // "passkey_create" | "passkey_get" | "passkey_signin" | "kept_post"
  secret_hash: string;
  path: string | null;
  data: string | null;
  expires_at: number | string;
  used_at: number | string | null;
  created_at: number | string;
}

export interface Database {
  sk_sessions: SessionsTable;
  sk_login_events: LoginEventsTable;
  sk_ip_rules: IpRulesTable;
  sk_verifications: VerificationsTable;
  sk_known_devices: KnownDevicesTable;
  sk_counters: CountersTable;
  sk_passkeys: PasskeysTable;
  sk_dbsc_challenges: DeviceChallengesTable;
  sk_reauth_state: ReauthStateTable;
}
