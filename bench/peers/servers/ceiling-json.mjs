// Ceiling (a): bare node:http. Reads the JSON POST body, parses it, answers a fixed JSON body.
// No framework, no routing, no database: the HTTP + JSON floor of any Node server on the same host.
import { envInt, serveCeiling } from './common.mjs';

const FIXED = Buffer.from(JSON.stringify({ success: true }));

serveCeiling({
  name: 'ceiling-json',
  port: envInt('PORT', 4200),
  answer: (body, req) => {
    if (req.method === 'POST') JSON.parse(body.toString('utf8') || '{}');
    return FIXED;
  },
});
