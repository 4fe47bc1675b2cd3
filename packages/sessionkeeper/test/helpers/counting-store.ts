import type { SessionStore } from "../../src/storage/contract.js";

/** How many times each store method was called (and how many touches changed a row). */
export type StoreCalls = Record<Exclude<keyof SessionStore, never>, number> & {
  touchesApplied: number;
};

/**
 * Wraps a real store so tests can see which storage calls a request made (a lookup, a write).
 * Not a mock: every call goes through to the real backend unchanged.
 */
export function countingStore(inner: SessionStore): { store: SessionStore; calls: StoreCalls } {
  const calls: StoreCalls = {
    migrate: 0,
    createSession: 0,
    findSession: 0,
    touchSession: 0,
    rotateSession: 0,
    updateSessionData: 0,
    markProofUsed: 0,
    bindSession: 0,
    refreshBinding: 0,
    endBinding: 0,
    addDeviceChallenge: 0,
    takeDeviceChallenge: 0,
    renameSession: 0,
    deviceSignIns: 0,
    listUserSessions: 0,
    endSession: 0,
    endUserSessions: 0,
    recordEvent: 0,
    listEvents: 0,
    listEventsPage: 0,
    listSessionEvents: 0,
    prune: 0,
    close: 0,
    addPasskey: 0,
    listPasskeys: 0,
    findPasskey: 0,
    renamePasskey: 0,
    removePasskey: 0,
    recordPasskeyUse: 0,
    saveReauthState: 0,
    findReauthStates: 0,
    spendReauthState: 0,
    touchesApplied: 0,
  };
  // Counts a call, then hands it to the real store untouched.
  const count =
    <A extends unknown[], R>(name: keyof StoreCalls, fn: (...args: A) => R) =>
    (...args: A): R => {
      calls[name]++;
      return fn(...args);
    };
  const store: SessionStore = {
    migrate: count("migrate", () => inner.migrate()),
    createSession: count("createSession", (s, e) => inner.createSession(s, e)),
    findSession: count("findSession", (id) => inner.findSession(id)),
    touchSession: count("touchSession", async (id, update) => {
      const changed = await inner.touchSession(id, update);
      if (changed) calls.touchesApplied++;
      return changed;
    }),
    rotateSession: count("rotateSession", (id, u) => inner.rotateSession(id, u)),
    updateSessionData: count("updateSessionData", (id, u) => inner.updateSessionData(id, u)),
    markProofUsed: count("markProofUsed", (id, u) => inner.markProofUsed(id, u)),
    bindSession: count("bindSession", (id, b) => inner.bindSession(id, b)),
    refreshBinding: count("refreshBinding", (id, u) => inner.refreshBinding(id, u)),
    endBinding: count("endBinding", (id) => inner.endBinding(id)),
    addDeviceChallenge: count("addDeviceChallenge", (c) => inner.addDeviceChallenge(c)),
    takeDeviceChallenge: count("takeDeviceChallenge", (h, o) => inner.takeDeviceChallenge(h, o)),
    renameSession: count("renameSession", (id, u) => inner.renameSession(id, u)),
    deviceSignIns: count("deviceSignIns", (u, d) => inner.deviceSignIns(u, d)),
    listUserSessions: count("listUserSessions", (u, o) => inner.listUserSessions(u, o)),
    endSession: count("endSession", (id, end, o) => inner.endSession(id, end, o)),
    endUserSessions: count("endUserSessions", (u, end, o) => inner.endUserSessions(u, end, o)),
    recordEvent: count("recordEvent", (e) => inner.recordEvent(e)),
    listEvents: count("listEvents", (u, o) => inner.listEvents(u, o)),
    listEventsPage: count("listEventsPage", (u, o) => inner.listEventsPage(u, o)),
    listSessionEvents: count("listSessionEvents", (u, ids) => inner.listSessionEvents(u, ids)),
    prune: count("prune", (o) => inner.prune(o)),
    close: count("close", () => inner.close()),
    addPasskey: count("addPasskey", (p) => inner.addPasskey(p)),
    listPasskeys: count("listPasskeys", (u) => inner.listPasskeys(u)),
    findPasskey: count("findPasskey", (id) => inner.findPasskey(id)),
    renamePasskey: count("renamePasskey", (id, u) => inner.renamePasskey(id, u)),
    removePasskey: count("removePasskey", (id, m) => inner.removePasskey(id, m)),
    recordPasskeyUse: count("recordPasskeyUse", (id, u) => inner.recordPasskeyUse(id, u)),
    saveReauthState: count("saveReauthState", (s) => inner.saveReauthState(s)),
    findReauthStates: count("findReauthStates", (s, k, n) => inner.findReauthStates(s, k, n)),
    spendReauthState: count("spendReauthState", (id, n) => inner.spendReauthState(id, n)),
  };
  return { store, calls };
}

/** The calls that change stored data; a request that must not write leaves all of them at zero. */
export function writeCalls(calls: StoreCalls): number {
  return (
    calls.createSession +
    calls.touchSession +
    calls.rotateSession +
    calls.updateSessionData +
    calls.markProofUsed +
    calls.bindSession +
    calls.refreshBinding +
    calls.endBinding +
    calls.addDeviceChallenge +
    calls.takeDeviceChallenge +
    calls.renameSession +
    calls.endSession +
    calls.endUserSessions +
    calls.recordEvent +
    calls.prune +
    calls.addPasskey +
    calls.renamePasskey +
    calls.removePasskey +
    calls.recordPasskeyUse +
    calls.saveReauthState +
    calls.spendReauthState
  );
}
