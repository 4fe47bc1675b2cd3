/** @type {import("next").NextConfig} */
export default {
  // Loaded by Node at run time instead of bundled: better-sqlite3 is a native module, and one
  // copy of sessionkeeper serves every route.
  serverExternalPackages: ["better-sqlite3", "sessionkeeper"],
};
