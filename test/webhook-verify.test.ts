// The receiver's package and the service agree: one signing and verifying module, two error faces.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isClipAgiqaError } from '@clip-agiqa/core';
import * as webhook from '@clip-agiqa/webhook';
import * as internal from '@clip-agiqa/webhook/internal';
import { signedHeaders, verifyWebhook, WebhookVerificationError } from '@clip-agiqa/webhook-verify';

const SECRET = `whsec_${Buffer.from('callback secret of the service!!').toString('base64')}`;
const BODY = '{"type":"rank.completed","data":{"job_id":"j"}}';

describe('@clip-agiqa/webhook-verify', () => {
  it('verifies what the service signs, from Node\'s headers or a fetch Headers, with one secret or several', () => {
    const headers = webhook.signedHeaders(SECRET, 'msg_1', BODY);
    assert.equal(verifyWebhook(SECRET, headers, BODY).id, 'msg_1');
    assert.equal(verifyWebhook(['whsec_b2xkIHNlY3JldCwgcm90YXRlZCBvdXQ=', SECRET], new Headers(headers), Buffer.from(BODY)).id, 'msg_1');
    assert.equal(webhook.verifyStandardWebhook([SECRET], signedHeaders(SECRET, 'msg_2', BODY), BODY).id, 'msg_2');
  });

  it('refuses with a code of the clip-agiqa error family; the service answers the same code as a 401', () => {
    const stale = signedHeaders(SECRET, 'msg_3', BODY, Date.now() - 10 * 60_000);
    assert.throws(() => verifyWebhook(SECRET, stale, BODY), (e: unknown) => {
      assert.ok(e instanceof WebhookVerificationError && isClipAgiqaError(e));
      assert.deepEqual(e.toJSON(), { code: 'STALE_TIMESTAMP', message: 'webhook-timestamp is too old' });
      return true;
    });
    assert.throws(() => webhook.verifyStandardWebhook([SECRET], stale, BODY), (e: unknown) => e instanceof webhook.VerificationError && e.code === 'STALE_TIMESTAMP' && e.status === 401);
    assert.throws(() => verifyWebhook(SECRET, signedHeaders(SECRET, 'msg_4', BODY), `${BODY} `), { code: 'BAD_SIGNATURE' });
    assert.throws(() => verifyWebhook('whsec_', {}, BODY), { code: 'MISSING_SIGNATURE' });
    assert.throws(() => internal.decodeSecret('whsec_'), (e: unknown) => e instanceof webhook.ConfigError);
  });
});

describe('@clip-agiqa/webhook entry points', () => {
  it('the root holds what a service user needs; the building blocks are in /internal only', () => {
    for (const name of ['startService', 'loadConfig', 'resolveConfig', 'openStore', 'DiskStore', 'MemoryStore', 'RedisStore', 'startCluster', 'requeueDead', 'signedHeaders', 'verifyStandardWebhook', 'VerificationError', 'webhookVerdictSchema']) {
      assert.ok(name in webhook, `the root lacks ${name}`);
    }
    for (const name of Object.keys(internal)) assert.ok(!(name in webhook), `${name} is a building block but the root exports it`);
    assert.ok(Object.keys(webhook).length <= 30, `${Object.keys(webhook).length} values at the root`);
  });
});
