/** An error that becomes an HTTP response: status, a stable code and a readable message. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}, readonly details?: unknown) {
    super(message);
    this.name = 'HttpError';
  }

  toJSON(): object {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

/** A request whose signature, token or timestamp does not check out. */
export class VerificationError extends HttpError {
  constructor(message: string, code = 'BAD_SIGNATURE') {
    super(401, code, message);
    this.name = 'VerificationError';
  }
}

/** An image URL (or callback URL) the service refuses to fetch, or a fetch that failed. */
export class FetchError extends Error {
  constructor(readonly code: 'BLOCKED_ADDRESS' | 'BAD_URL' | 'TOO_LARGE' | 'TIMEOUT' | 'TOO_MANY_REDIRECTS' | 'HTTP_STATUS' | 'NETWORK' | 'NOT_AN_IMAGE', message: string) {
    super(message);
    this.name = 'FetchError';
  }
}

/** A configuration the service cannot run with; lists every problem found. */
export class ConfigError extends Error {
  constructor(message: string, readonly problems: string[] = []) {
    super(problems.length ? `${message}:\n  ${problems.join('\n  ')}` : message);
    this.name = 'ConfigError';
  }
}

/** The shared store (Redis) does not answer: the request can be retried shortly, nothing was accepted. */
export class StoreUnavailableError extends HttpError {
  constructor(cause: Error) {
    super(503, 'STORE_UNAVAILABLE', `the job store is unavailable: ${cause.message}`, { 'retry-after': '2' });
    this.name = 'StoreUnavailableError';
  }
}
