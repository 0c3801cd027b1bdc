// Node's figures for the V8 rows of warmpool's benchmarks, on the same .wasm files: what a user
// would get by calling the plugin from JavaScript instead (issue 14's peers). Plain Node 20
// (Debian's `nodejs`), no npm packages.
//
//   node bench/node/engine_peers.mjs build/<dir>/plugins [repetitions] [--json]
//
// Rows (CPU time per operation from process.cpuUsage(), median of the repetitions, with the
// wall-clock median beside it; the machine is shared, so CPU time is the figure to compare):
//   node/fib_1_call            fib(1) on fib.wasm                  (peer of v8/fib_1_call)
//   node/echo_16B_call         the bytes ABI on echo.wasm: wp_alloc, copy in, echo, copy the
//                              output out, wp_free                 (peer of v8/echo_16B_call)
//   node/markdown/instantiate  new WebAssembly.Instance + _initialize of markdown.wasm, compiled
//                              once                                (peer of v8/markdown/instantiate)
//   node/host_call             one wasm -> JS import -> wasm round trip: the embedding bench's
//                              guest calls env.add_one 1,000 times per export call, here a JS
//                              function instead of a C++ one         (peer of v8/host_call)
import { readFileSync } from 'node:fs';
import path from 'node:path';

const json = process.argv.includes('--json');
const [pluginDir, repetitionsArg = '5'] = process.argv.slice(2).filter((a) => a !== '--json');
if (!pluginDir) {
  console.error('usage: node engine_peers.mjs <plugin dir> [repetitions] [--json]');
  process.exit(2);
}
const repetitions = Number(repetitionsArg);
const load = (name) => new WebAssembly.Module(readFileSync(path.join(pluginDir, name)));

function instantiate(module) {
  const instance = new WebAssembly.Instance(module, {});
  instance.exports._initialize?.();
  return instance;
}

// Runs `op` in batches of `batch` until ~0.3 s of CPU time per repetition has gone by; returns
// the median CPU and wall nanoseconds per operation.
function measure(op, batch) {
  for (let i = 0; i < batch; i++) op();  // warm-up: let the JIT settle
  const cpu = [], wall = [];
  for (let r = 0; r < repetitions; r++) {
    let ops = 0;
    const cpu0 = process.cpuUsage(), wall0 = process.hrtime.bigint();
    let used;
    do {
      for (let i = 0; i < batch; i++) op();
      ops += batch;
      const u = process.cpuUsage(cpu0);
      used = (u.user + u.system) * 1e3;
    } while (used < 3e8);
    cpu.push(used / ops);
    wall.push(Number(process.hrtime.bigint() - wall0) / ops);
  }
  const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return { cpu: median(cpu), wall: median(wall) };
}

const results = {};
function report(name, { cpu, wall }) {
  results[name] = { cpu_ns: cpu, wall_ns: wall };
  if (json) return;
  const fmt = (ns) => (ns >= 1e4 ? `${(ns / 1e3).toFixed(1)} us` : `${ns.toFixed(1)} ns`);
  console.log(`${name.padEnd(28)} cpu ${fmt(cpu).padStart(10)}   wall ${fmt(wall).padStart(10)}`);
}

const fib = instantiate(load('fib.wasm')).exports.fib;
report('node/fib_1_call', measure(() => fib(1), 10000));

const echo = instantiate(load('echo.wasm')).exports;
const input = new TextEncoder().encode('0123456789abcdef');
let sink = 0;
report('node/echo_16B_call', measure(() => {
  const ptr = echo.wp_alloc(input.length);
  new Uint8Array(echo.memory.buffer, ptr, input.length).set(input);
  const packed = echo.echo(ptr, input.length);
  const outPtr = Number(packed >> 32n), outLen = Number(packed & 0xffffffffn);
  const output = new Uint8Array(echo.memory.buffer, outPtr, outLen).slice();
  sink += output[0];
  echo.wp_free(outPtr);
  if (outPtr !== ptr) echo.wp_free(ptr);
}, 10000));

// The guest of bench/embedding_bench.cpp (kGuest), as wat2wasm encodes it.
const guestWasm = Buffer.from(
  'AGFzbQEAAAABBgFgAX8BfwIPAQNlbnYHYWRkX29uZQAAAwMCAAAHEwIDZmliAAEJaG9zdF9sb29wAAIKNQIcACAAQQJI' +
  'BH8gAAUgAEEBaxABIABBAmsQAWoLCxYBAX8DQCABEAAhASABIABIDQALIAEL', 'base64');
const guest = new WebAssembly.Instance(new WebAssembly.Module(guestWasm),
                                       { env: { add_one: (x) => x + 1 } }).exports;
const hostCalls = 1000;
const perLoop = measure(() => { sink += guest.host_loop(hostCalls); }, 100);
report('node/host_call', { cpu: perLoop.cpu / hostCalls, wall: perLoop.wall / hostCalls });

const markdown = load('markdown.wasm');
report('node/markdown/instantiate', measure(() => { sink += instantiate(markdown) ? 1 : 0; }, 20));
if (sink < 0) console.log(sink);
if (json) console.log(JSON.stringify(results));
