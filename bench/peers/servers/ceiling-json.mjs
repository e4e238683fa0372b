// Ceiling (a): bare node:http. Reads the JSON POST body, parses it, answers a fixed JSON body.
// No framework, no routing, no database: the HTTP + JSON floor of any Node server on the same host.
import http from 'node:http';
import { HOST, envInt, readBody, announceReady, onShutdown, closeServer } from './common.mjs';

const PORT = envInt('PORT', 4200);
const FIXED = Buffer.from(JSON.stringify({ success: true }));

const server = http.createServer(async (req, res) => {
  try {
    const body = await readBody(req);
    if (req.method === 'POST') JSON.parse(body.toString('utf8') || '{}');
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': FIXED.length });
    res.end(FIXED);
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{"error":"bad request"}');
  }
});
server.keepAliveTimeout = 65_000;

server.listen(PORT, HOST, () => announceReady({ name: 'ceiling-json', url: `http://${HOST}:${PORT}` }));
onShutdown(() => closeServer(server));
