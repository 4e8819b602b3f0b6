export type WebhookVerificationCode = 'MISSING_SIGNATURE' | 'BAD_TIMESTAMP' | 'STALE_TIMESTAMP' | 'FUTURE_TIMESTAMP' | 'BAD_SIGNATURE' | 'INVALID_SECRET';

// The mark every clip-agiqa error carries (see @clip-agiqa/core's isClipAgiqaError): set here without
// importing core, so this package stays free of ONNX Runtime and sharp.
const BRAND = Symbol.for('clip-agiqa.error');

/** A delivery that does not prove it came from the holder of the secret, or a secret that is unusable. */
export class WebhookVerificationError extends Error {
  readonly code: WebhookVerificationCode;

  constructor(code: WebhookVerificationCode, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }

  toJSON(): { code: WebhookVerificationCode; message: string } {
    return { code: this.code, message: this.message };
  }
}
