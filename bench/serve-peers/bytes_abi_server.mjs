// The Node 20 peer of `warmpool serve` for a plugin written to warmpool's bytes ABI
// (docs/plugin-abi.md): one instance compiled and instantiated once per process and reused by
// every request, answering POST /call/<export> with the export's output.
//
//   WORKERS=2 node bytes_abi_server.mjs PLUGIN.wasm PORT
//
// WORKERS processes share the port (serve_calls.mjs); the instance is created before listening.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

import { serveCalls } from './serve_calls.mjs';

const [pluginPath, port] = process.argv.slice(2);

await serveCalls(port, () => {
  const wasi = new WASI({ version: 'preview1', args: [], env: {} });
  const module = new WebAssembly.Module(readFileSync(pluginPath));
  const instance = new WebAssembly.Instance(module, wasi.getImportObject());
  if (instance.exports._initialize) wasi.initialize(instance);
  const { memory, wp_alloc, wp_free } = instance.exports;

  // One call_bytes as the ABI describes it: alloc + copy in, call, copy out, free.
  const callBytes = (fn, input) => {
    let ptr = 0;
    if (input.length > 0) {
      ptr = wp_alloc(input.length);
      if (ptr === 0) throw new Error('wp_alloc failed');
      new Uint8Array(memory.buffer, ptr, input.length).set(input);
    }
    const packed = BigInt.asUintN(64, fn(ptr, input.length));
    const outPtr = Number(packed >> 32n), outLen = Number(packed & 0xffffffffn);
    const output = Buffer.from(new Uint8Array(memory.buffer, outPtr, outLen));
    if (wp_free) {
      if (ptr !== 0) wp_free(ptr);
      if (outPtr !== 0 && outPtr !== ptr) wp_free(outPtr);
    }
    return output;
  };

  return (name, input) => {
    const fn = instance.exports[name];
    return typeof fn === 'function' ? callBytes(fn, input) : undefined;
  };
});
