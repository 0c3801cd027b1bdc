// The Node 20 + @extism/extism (the official JS host) peer of `warmpool serve` for an Extism
// plugin: one plugin created once per process and reused by every request, answering
// POST /call/<function> with the function's output.
//
//   EXTISM_PEER_DIR=DIR WORKERS=2 node extism_server.mjs PLUGIN.wasm PORT
//
// DIR is where `npm ci` installed ../shared/extism/node-peer (bench/serve-peers.sh does it).
import cluster from 'node:cluster';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { readFileSync } from 'node:fs';

const [pluginPath, port] = process.argv.slice(2);
const workers = Number(process.env.WORKERS ?? 1);

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let ready = 0;
  cluster.on('message', () => { if (++ready === workers) console.log('listening'); });
} else {
  const require = createRequire(path.join(process.env.EXTISM_PEER_DIR, 'package.json'));
  const sdk = await import(require.resolve('@extism/extism'));
  const createPlugin = sdk.default ?? sdk.createPlugin;
  const plugin = await createPlugin({ wasm: [{ data: new Uint8Array(readFileSync(pluginPath)) }] },
                                    { useWasi: false });
  let busy = Promise.resolve();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url.startsWith('/call/')) {
        res.writeHead(404).end();
        return;
      }
      const fn = req.url.slice('/call/'.length);
      // One plugin per process: calls take turns, as a plugin allows only one call at a time.
      busy = busy.then(async () => {
        try {
          const output = await plugin.call(fn, Buffer.concat(chunks));
          res.writeHead(200, { 'Content-Type': 'application/octet-stream' })
            .end(output ? Buffer.from(output.bytes()) : undefined);
        } catch (e) {
          res.writeHead(500).end(String(e));
        }
      });
    });
  });
  server.keepAliveTimeout = 30000;
  server.listen(Number(port), '127.0.0.1', () => {
    if (cluster.isWorker) process.send('ready'); else console.log('listening');
  });
}
