import { ClipAgiqaError, type WireError } from '@clip-agiqa/core';

/** The body of every error answer: the shared wire error object, and per-item details where there are some. */
export interface ErrorBody {
  error: WireError;
  details?: unknown;
}

/** An error that becomes an HTTP response: status, a stable code and a readable message. */
export class HttpError extends ClipAgiqaError<string> {
  constructor(readonly status: number, code: string, message: string, readonly headers: Record<string, string> = {}, readonly details?: unknown) {
    super(code, message);
  }

  body(): ErrorBody {
    return { error: this.toJSON(), ...(this.details === undefined ? {} : { details: this.details }) };
  }
}

/** A request whose signature, token or timestamp does not check out. */
export class VerificationError extends HttpError {
  constructor(message: string, code = 'BAD_SIGNATURE') {
    super(401, code, message);
  }
}

export type FetchCode = 'BLOCKED_ADDRESS' | 'BAD_URL' | 'TOO_LARGE' | 'TIMEOUT' | 'TOO_MANY_REDIRECTS' | 'HTTP_STATUS' | 'NETWORK' | 'NOT_AN_IMAGE' | 'TOO_MANY_PIXELS' | 'CORRUPT_IMAGE';

/** An image URL (or callback URL) the service refuses to fetch, or a fetch that failed. */
export class FetchError extends ClipAgiqaError<FetchCode> {
  /**
   * `message` is safe to show the sender (it never names an address a host resolved to); `detail`
   * adds what only the operator's logs should see.
   */
  constructor(code: FetchCode, message: string, readonly detail?: string) {
    super(code, message);
  }
}

/** A configuration the service cannot run with; lists every problem found. */
export class ConfigError extends ClipAgiqaError<'INVALID_CONFIG'> {
  constructor(message: string, readonly problems: string[] = [], options: { cause?: unknown } = {}) {
    super('INVALID_CONFIG', problems.length ? `${message}:\n  ${problems.join('\n  ')}` : message, options);
  }
}

/** A stored record that names a blob no store could have written: the store was tampered with or corrupted. */
export class StoreError extends ClipAgiqaError<'INVALID_BLOB_NAME'> {
  constructor(message: string) {
    super('INVALID_BLOB_NAME', message);
  }
}

/** The disk holding the job store is full: new work is refused (nothing was accepted), what was accepted stays stored. */
export class StoreFullError extends HttpError {
  constructor(readonly path: string, cause: Error) {
    super(503, 'STORE_FULL', 'the job store\'s disk is full: no new jobs until space is freed', { 'retry-after': '30' });
    this.name = 'StoreFullError';
    this.cause = cause;
  }
}

export type RedisStartCode = 'REDIS_REFUSED' | 'REDIS_TIMEOUT' | 'REDIS_AUTH' | 'REDIS_ACL' | 'REDIS_TLS' | 'REDIS_UNREACHABLE';

/** Redis could not be used at start: names the address (never the password) and the cause; `permanent` when waiting cannot help. */
export class RedisStartError extends ClipAgiqaError<RedisStartCode> {
  constructor(code: RedisStartCode, readonly address: string, readonly cause_: string, readonly permanent: boolean) {
    super(code, `Redis at ${address}: ${cause_}`);
    this.name = 'RedisStartError';
  }
}

/** The shared store (Redis) does not answer: the request can be retried shortly, nothing was accepted. */
export class StoreUnavailableError extends HttpError {
  constructor(cause: Error) {
    super(503, 'STORE_UNAVAILABLE', `the job store is unavailable: ${cause.message}`, { 'retry-after': '2' });
    this.name = 'StoreUnavailableError';
  }
}

/** The service could not listen where its configuration asks: the reason, and what to change, on one line. */
export class ListenError extends ClipAgiqaError<'LISTEN_FAILED'> {
  constructor(message: string, cause?: Error) {
    super('LISTEN_FAILED', message, { cause });
    this.name = 'ListenError';
  }
}
