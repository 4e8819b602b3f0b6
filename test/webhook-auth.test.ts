import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as edSign } from 'node:crypto';
import { describe, it } from 'node:test';

import { verifyStandardWebhook, VerificationError } from '@clip-agiqa/webhook';
import { ed25519Key, falMessage, verifyFalWebhook } from '@clip-agiqa/webhook/internal';
import { sign } from '@clip-agiqa/webhook-verify';

// The Standard Webhooks specification's published test case (libraries/*/ tests of standard-webhooks/standard-webhooks).
const SECRET = 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MSG_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const PAYLOAD = '{"test": 2432232314}';

function signed(timestampMs = Date.now(), secret = SECRET, body = PAYLOAD) {
  const ts = Math.floor(timestampMs / 1000);
  return { 'webhook-id': MSG_ID, 'webhook-timestamp': String(ts), 'webhook-signature': sign(secret, MSG_ID, ts, body) };
}

const refused = (f: () => unknown, code: string) => assert.throws(f, (e: unknown) => e instanceof VerificationError && e.code === code);

describe('Standard Webhooks verification', () => {
  it('reproduces the specification\'s signature vector', () => {
    assert.equal(sign(`whsec_${SECRET}`, MSG_ID, 1614265330, PAYLOAD), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    assert.equal(sign(SECRET, MSG_ID, 1614265330, Buffer.from(PAYLOAD)), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    const now = 1614265330 * 1000;
    assert.deepEqual(verifyStandardWebhook([`whsec_${SECRET}`], { 'webhook-id': MSG_ID, 'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' }, PAYLOAD, { now }), { id: MSG_ID, timestamp: 1614265330 });
  });

  it('passes the specification\'s cases: valid, with or without the whsec_ prefix, several signatures', () => {
    assert.equal(verifyStandardWebhook([SECRET], signed(), PAYLOAD).id, MSG_ID);
    assert.equal(verifyStandardWebhook([`whsec_${SECRET}`], signed(), PAYLOAD).id, MSG_ID);
    const h = signed();
    h['webhook-signature'] = ['v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=', 'v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=', h['webhook-signature'],
      'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc='].join(' ');
    assert.equal(verifyStandardWebhook([SECRET], h, PAYLOAD).id, MSG_ID);
  });

  it('refuses missing headers, bad, partial and empty signatures, and timestamps outside 5 minutes', () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const h: Record<string, string> = signed();
      delete h[name];
      refused(() => verifyStandardWebhook([SECRET], h, PAYLOAD), 'MISSING_SIGNATURE');
    }
    refused(() => verifyStandardWebhook([SECRET], { ...signed(), 'webhook-timestamp': 'hello' }, PAYLOAD), 'BAD_TIMESTAMP');
    refused(() => verifyStandardWebhook([SECRET], { ...signed(), 'webhook-signature': 'v1,dawfeoifkpqwoekfpqoekf' }, PAYLOAD), 'BAD_SIGNATURE');
    refused(() => verifyStandardWebhook([SECRET], { ...signed(), 'webhook-signature': signed()['webhook-signature'].slice(0, 8) }, PAYLOAD), 'BAD_SIGNATURE');
    refused(() => verifyStandardWebhook([SECRET], { ...signed(), 'webhook-signature': 'v1,' }, PAYLOAD), 'BAD_SIGNATURE');
    refused(() => verifyStandardWebhook([SECRET], signed(Date.now() - 5 * 60 * 1000 - 1000), PAYLOAD), 'STALE_TIMESTAMP');
    refused(() => verifyStandardWebhook([SECRET], signed(Date.now() + 5 * 60 * 1000 + 1000), PAYLOAD), 'FUTURE_TIMESTAMP');
    refused(() => verifyStandardWebhook([SECRET], signed(Date.UTC(2000, 0, 1)), PAYLOAD), 'STALE_TIMESTAMP');
  });

  it('refuses signatures whose base64 is not canonical (no padding, stray bits, other characters)', () => {
    const good = signed()['webhook-signature'].slice(3);
    assert.match(good, /=$/);
    const last = good.at(-2)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const strayBits = alphabet[alphabet.indexOf(last) ^ 1]!; // same decoded bytes, other unused low bits
    for (const variant of [good.slice(0, -1), `${good.slice(0, -2)}${strayBits}=`, `${good}=`, `${good.slice(0, 10)}\n${good.slice(10)}`, good.replace(/\+/g, '-').replace(/\//g, '_')]) {
      if (variant === good) continue;
      refused(() => verifyStandardWebhook([SECRET], { ...signed(), 'webhook-signature': `v1,${variant}` }, PAYLOAD), 'BAD_SIGNATURE');
    }
  });

  it('refuses a tampered body and a wrong secret; accepts any of several secrets (rotation)', () => {
    refused(() => verifyStandardWebhook([SECRET], signed(), '{"test": 2432232315}'), 'BAD_SIGNATURE');
    const other = Buffer.from('another secret of ours, 32 bytes').toString('base64');
    refused(() => verifyStandardWebhook([other], signed(), PAYLOAD), 'BAD_SIGNATURE');
    assert.equal(verifyStandardWebhook([other, SECRET], signed(), PAYLOAD).id, MSG_ID);
  });
});

describe('fal ED25519 verification', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'jwk' }).x!; // base64url, as fal's JWKS publishes it
  const body = Buffer.from('{"request_id":"req-1","status":"OK","payload":{"images":[]}}');
  const headers = (ts = Math.floor(Date.now() / 1000), b = body) => ({
    'x-fal-webhook-request-id': 'req-1', 'x-fal-webhook-user-id': 'user-9', 'x-fal-webhook-timestamp': String(ts),
    'x-fal-webhook-signature': edSign(null, falMessage('req-1', 'user-9', String(ts), b), privateKey).toString('hex'),
  });

  it('accepts a signature from a configured key (base64url or PEM) and refuses tampering, other keys and old timestamps', () => {
    assert.equal(verifyFalWebhook([ed25519Key(raw)], headers(), body).id, 'req-1');
    assert.equal(verifyFalWebhook([ed25519Key(publicKey.export({ format: 'pem', type: 'spki' }).toString())], headers(), body).id, 'req-1');
    refused(() => verifyFalWebhook([ed25519Key(raw)], headers(), Buffer.from(`${body.toString()} `)), 'BAD_SIGNATURE');
    const stranger = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!;
    refused(() => verifyFalWebhook([ed25519Key(stranger)], headers(), body), 'BAD_SIGNATURE');
    refused(() => verifyFalWebhook([ed25519Key(raw)], headers(Math.floor(Date.now() / 1000) - 301), body), 'STALE_TIMESTAMP');
    refused(() => verifyFalWebhook([ed25519Key(raw)], { ...headers(), 'x-fal-webhook-signature': undefined }, body), 'MISSING_SIGNATURE');
  });
});
