/**
 * Raised when the session store cannot be reached or fails a statement. Adapters answer 503 for it:
 * an unreachable store must never let a request through (fail closed). `cause` holds the driver's error.
 */
export class StorageError extends Error {
  readonly code = "SESSIONKEEPER_STORAGE_UNAVAILABLE" as const;
  override readonly name = "StorageError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True for a {@link StorageError}, also across duplicate copies of the package. */
export function isStorageError(error: unknown): error is StorageError {
  return (
    error instanceof StorageError ||
    (typeof error === "object" &&
      error !== null &&
      (error as { code?: unknown }).code === "SESSIONKEEPER_STORAGE_UNAVAILABLE")
  );
}
