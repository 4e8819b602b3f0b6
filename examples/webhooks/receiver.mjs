// A minimal receiver of the service's verdict events: checks the Standard Webhooks signature, drops
// duplicates by webhook-id (deliveries are at least once), and prints each event. It needs only
// @clip-agiqa/webhook-verify (node:crypto, no ONNX Runtime or sharp), not the service.
//   node examples/webhooks/receiver.mjs [PORT]
import { createServer } from 'node:http';

import { verifyWebhook } from '@clip-agiqa/webhook-verify';

const SECRET = process.env.CALLBACK_SECRET ?? 'whsec_Y2FsbGJhY2sgc2VjcmV0IC0gcmVwbGFjZSBtZSE=';
const seen = new Set();
createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    try {
      const { id } = verifyWebhook(SECRET, req.headers, body);
      res.end();
      if (seen.has(id)) return;
      seen.add(id);
      const event = JSON.parse(body);
      const { job_id, winner, passed, order } = event.data;
      console.log(`${event.type} ${job_id}: ${winner ? `winner ${winner}, ` : ''}passed [${passed}], order [${order}]`);
    } catch (e) {
      res.writeHead(401).end();
      console.error(`refused: ${e.message}`);
    }
  });
}).listen(Number(process.argv[2] ?? 8788), '127.0.0.1', () => console.log('receiver listening'));
