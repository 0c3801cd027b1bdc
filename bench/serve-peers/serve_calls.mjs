// The serving half both Node peers share: WORKERS processes (node:cluster, default 1) listen
// on 127.0.0.1:PORT and answer POST /call/<name> with what a plugin's function returns.
// "listening" is printed once every process listens, which is what the bench scripts wait for.
//
//   await serveCalls(port, async () => {
//     const plugin = await load(path);                 // once per process, before listening
//     return (name, input) => plugin.run(name, input);  // Buffer, a promise of one, or
//   });                                                 // undefined: no such function (404)
//
// A call that throws or rejects answers 500 with the error.
import cluster from 'node:cluster';
import http from 'node:http';

export async function serveCalls(port, setUp) {
  const workers = Number(process.env.WORKERS ?? 1);
  if (cluster.isPrimary && workers > 1) {
    for (let i = 0; i < workers; i++) cluster.fork();
    let ready = 0;
    cluster.on('message', () => { if (++ready === workers) console.log('listening'); });
    return;
  }
  const call = await setUp();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const reply = (output) => {
        if (output === undefined) res.writeHead(404).end();
        else res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(output);
      };
      const fail = (e) => res.writeHead(500).end(String(e));
      if (req.method !== 'POST' || !req.url.startsWith('/call/')) {
        reply(undefined);
        return;
      }
      try {
        const output = call(req.url.slice('/call/'.length), Buffer.concat(chunks));
        // A synchronous plugin answers without a microtask hop: the peer stays as fast as it can be.
        if (output instanceof Promise) output.then(reply, fail);
        else reply(output);
      } catch (e) {
        fail(e);
      }
    });
  });
  server.keepAliveTimeout = 30000;
  server.listen(Number(port), '127.0.0.1', () => {
    if (cluster.isWorker) process.send('ready'); else console.log('listening');
  });
}
