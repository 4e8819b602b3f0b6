export { WebhookVerificationError, type WebhookVerificationCode } from './error.js';
export { decodeSecret, sign, signedHeaders } from './sign.js';
export { checkWebhookHeaders, DEFAULT_TOLERANCE_SECONDS, verifyWebhook, type VerifyOptions, type WebhookHeaders } from './verify.js';
