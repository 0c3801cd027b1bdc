// The Node 20 + @extism/extism (the official JS host) peer of `warmpool serve` for an Extism
// plugin: one plugin created once per process and reused by every request, answering
// POST /call/<function> with the function's output.
//
//   EXTISM_PEER_DIR=DIR WORKERS=2 node extism_server.mjs PLUGIN.wasm PORT
//
// DIR is where `npm ci` installed ../shared/extism/node-peer (bench/serve-peers.sh does it).
import { createRequire } from 'node:module';
import path from 'node:path';
import { readFileSync } from 'node:fs';

import { serveCalls } from './serve_calls.mjs';

const [pluginPath, port] = process.argv.slice(2);

await serveCalls(port, async () => {
  const require = createRequire(path.join(process.env.EXTISM_PEER_DIR, 'package.json'));
  const sdk = await import(require.resolve('@extism/extism'));
  const createPlugin = sdk.default ?? sdk.createPlugin;
  const plugin = await createPlugin({ wasm: [{ data: new Uint8Array(readFileSync(pluginPath)) }] },
                                    { useWasi: false });
  // One plugin per process: calls take turns, as a plugin allows only one call at a time.
  let busy = Promise.resolve();
  return (name, input) => {
    const turn = busy.then(() => plugin.call(name, input));
    busy = turn.catch(() => {});
    return turn.then((output) => (output ? Buffer.from(output.bytes()) : Buffer.alloc(0)));
  };
});
