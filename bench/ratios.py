#!/usr/bin/env python3
"""Turns one warmpool_pool_bench JSON result into the tables and ratios of
docs/PERFORMANCE.md, so every ratio comes from a single run.

Usage: bench/ratios.py result.json [--time cpu_time]   (from
--benchmark_out=result.json --benchmark_out_format=json; with
--benchmark_repetitions=N the medians are used). --time picks the field of the
ns tables (the lifecycle-hook decompositions); on a machine other work shares,
cpu_time leaves out the time the benchmark thread spent descheduled.
"""
import argparse
import json
import re

TARGETS = {1: 3.0, 2: 6.0}  # issue 2: aggregate throughput versus the seed design


def load(path):
    with open(path) as f:
        doc = json.load(f)
    runs, cv = {}, {}
    for b in doc["benchmarks"]:
        kind = b.get("run_type")
        if kind == "aggregate":
            if b["aggregate_name"] == "median":
                runs[b["run_name"]] = b
            elif b["aggregate_name"] == "cv":
                cv[b["run_name"]] = b
        elif b["run_name"] not in runs:
            runs[b["run_name"]] = b
    return doc["context"], runs, cv


def hit_key(pool, op, typ, threads):
    return f"hit/{pool}/{op}/{typ}/real_time/threads:{threads}"


def mops(run):
    return run["items_per_second"] / 1e6


def hit_tables(runs, cv):
    columns = [("floor", "acquire_release", "floor (unsync, per thread)"),
               ("warmpool", "acquire_release", "warmpool acquire+release"),
               ("warmpool", "checkout", "warmpool checkout"),
               ("warmpool_all_options", "acquire_release", "all options acquire+release"),
               ("warmpool_all_options", "checkout", "all options checkout"),
               ("seed", "acquire_release", "seed design"),
               ("mutex", "acquire_release", "mutex+vector")]
    verdicts = []
    for typ in ("handle", "blob64"):
        print(f"\nWarm hit round trip, T = {typ}: aggregate M round trips/s "
              "(ratio to the seed design at the same thread count; cv = run-to-run variation)\n")
        print("| threads | " + " | ".join(c[2] for c in columns) + " |")
        print("|---:|" + "---:|" * len(columns))
        for threads in (1, 2, 4, 8):
            seed = runs.get(hit_key("seed", "acquire_release", typ, threads))
            cells = []
            for pool, op, _ in columns:
                key = hit_key(pool, op, typ, threads)
                run = runs.get(key)
                if run is None or "items_per_second" not in run:
                    cells.append("n/a")
                    continue
                cell = f"{mops(run):.1f}"
                if seed is not None and pool != "seed":
                    ratio = run["items_per_second"] / seed["items_per_second"]
                    cell += f" ({ratio:.2f}x)"
                    if threads in TARGETS and pool.startswith("warmpool"):
                        verdicts.append((typ, threads, pool, op, ratio))
                if key in cv:
                    cell += f" cv {100 * cv[key]['items_per_second']:.0f}%"
                cells.append(cell)
            print(f"| {threads} | " + " | ".join(cells) + " |")
    print("\nTargets (issue 2: 1 thread >= 3x the seed design, 2 threads aggregate >= 6x):\n")
    for typ, threads, pool, op, ratio in verdicts:
        target = TARGETS[threads]
        status = "met" if ratio >= target else f"MISSED by {100 * (1 - ratio / target):.0f}%"
        print(f"- {typ}, {threads} thread(s), {pool} {op}: {ratio:.2f}x (target {target:.0f}x): {status}")


TIME = "real_time"  # the field of the ns tables (--time)


def hooks_decomposition(runs):
    """Every option on, with and without the two std::function hooks: what
    the options cost a hit and what the calls to the user's hooks cost."""
    seed = runs.get(hit_key("seed", "acquire_release", "handle", 1))
    if seed is None:
        return
    print(f"\nEvery lifecycle option on, 1 thread, T = handle: with the hooks (the target rows) "
          f"and without them (not a target); {TIME}\n")
    print("| path | with hooks ns | ratio | without hooks ns | ratio | hooks cost ns |")
    print("|---|---:|---:|---:|---:|---:|")
    for op in ("acquire_release", "checkout"):
        with_hooks = runs.get(hit_key("warmpool_all_options", op, "handle", 1))
        without = runs.get(hit_key("warmpool_all_options_no_hooks", op, "handle", 1))
        if not (with_hooks and without):
            continue
        w, wo, s = with_hooks[TIME], without[TIME], seed[TIME]
        print(f"| {op} | {w:.2f} | {s / w:.2f}x | {wo:.2f} | {s / wo:.2f}x | {w - wo:.2f} |")


def typed_hooks(runs):
    """Issue 17: every option on with the hooks as a type (inline) against the
    same options with a lifecycle that has no hooks, and a Reuse pool whose
    only hook is is_healthy reading a flag, against the default pool."""
    seed = runs.get(hit_key("seed", "acquire_release", "handle", 1))
    rows = []
    for threads in (1, 2):
        for op in ("acquire_release", "checkout"):
            typed = runs.get(hit_key("warmpool_all_options_typed", op, "handle", threads))
            bare = runs.get(hit_key("warmpool_all_options_typed_no_hooks", op, "handle", threads))
            erased = runs.get(hit_key("warmpool_all_options", op, "handle", threads))
            erased_bare = runs.get(hit_key("warmpool_all_options_no_hooks", op, "handle", threads))
            if typed and bare:
                rows.append((threads, op, typed, bare, erased, erased_bare))
    if rows:
        print("\nEvery lifecycle option on, T = handle: hooks as a type against a lifecycle "
              "without hooks (issue 17 target: checkout <= 1.1x), and the std::function hooks "
              f"against an empty Lifecycle<T>, same run (ns per round trip, per thread, {TIME})\n")
        print("| threads | path | typed hooks ns | no hooks ns | typed / no hooks | "
              "erased hooks ns | erased no hooks ns | erased / no hooks | seed / typed |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for threads, op, typed, bare, erased, erased_bare in rows:
            t, b = typed[TIME], bare[TIME]
            e = f"{erased[TIME]:.2f}" if erased else "n/a"
            eb = f"{erased_bare[TIME]:.2f}" if erased_bare else "n/a"
            er = f"{erased[TIME] / erased_bare[TIME]:.2f}x" if erased and erased_bare else "n/a"
            sr = f"{seed[TIME] / t:.2f}x" if seed and threads == 1 else "n/a"
            print(f"| {threads} | {op} | {t:.2f} | {b:.2f} | {t / b:.2f}x | {e} | {eb} | {er} | {sr} |")
    flag = []
    for threads in (1, 2):
        for op in ("acquire_release", "checkout"):
            typed = runs.get(hit_key("warmpool_health_flag_typed", op, "handle", threads))
            plain = runs.get(hit_key("warmpool", op, "handle", threads))
            erased = runs.get(hit_key("warmpool_health_flag_erased", op, "handle", threads))
            if typed and plain:
                flag.append((threads, op, typed, plain, erased))
    if flag:
        print("\nReuse pool whose only hook is is_healthy reading a flag in the instance, "
              f"against the default pool (no hooks), same run (ns per round trip, {TIME})\n")
        print("| threads | path | typed is_healthy ns | default ns | typed / default | "
              "erased is_healthy ns | erased / default |")
        print("|---:|---|---:|---:|---:|---:|---:|")
        for threads, op, typed, plain, erased in flag:
            t, p = typed[TIME], plain[TIME]
            e = f"{erased[TIME]:.2f}" if erased else "n/a"
            er = f"{erased[TIME] / p:.2f}x" if erased else "n/a"
            print(f"| {threads} | {op} | {t:.2f} | {p:.2f} | {t / p:.2f}x | {e} | {er} |")


def simple_table(runs, prefix, title, fields):
    rows = [(name, run) for name, run in runs.items() if name.startswith(prefix)]
    if not rows:
        return
    print(f"\n{title}\n")
    print("| benchmark | " + " | ".join(f[0] for f in fields) + " |")
    print("|---|" + "---:|" * len(fields))
    for name, run in rows:
        cells = []
        for _, getter in fields:
            try:
                cells.append(getter(run))
            except KeyError:
                cells.append("n/a")
        print(f"| {name} | " + " | ".join(cells) + " |")


def ns(key):
    return lambda r: f"{r[key]:.0f}"


def main():
    global TIME
    parser = argparse.ArgumentParser()
    parser.add_argument("result")
    parser.add_argument("--time", choices=("real_time", "cpu_time"), default="real_time")
    args = parser.parse_args()
    TIME = args.time
    context, runs, cv = load(args.result)
    print(f"Run: {context['date']}, {context['num_cpus']} CPUs, load average "
          f"{', '.join(f'{x:.2f}' for x in context['load_avg'])}, "
          f"clock pair {float(context.get('clock_pair_ns', 'nan')):.1f} ns")
    hit_tables(runs, cv)
    hooks_decomposition(runs)
    typed_hooks(runs)
    rate = lambda r: f"{mops(r):.2f}"
    hit_ratio = lambda r: f"{r['hit_ratio']:.3f}"
    simple_table(runs, "cold", "Cold path (every acquire a miss; instance destroyed through the pool)",
                 [("M round trips/s", rate), ("ns/round trip (per thread)", lambda r: f"{r['real_time']:.1f}"),
                  ("pool hit ratio", hit_ratio)])
    latency = [("p50 ns", ns("p50_ns")), ("p99 ns", ns("p99_ns")), ("p99.9 ns", ns("p99.9_ns")),
               ("max ns", ns("max_ns")), ("mean ns", ns("mean_ns"))]
    simple_table(runs, "latency", "acquire() latency (clock pair included in every sample)",
                 latency + [("pool hit ratio", hit_ratio)])
    for placement, suffix in (("scheduler's placement", ""),
                              ("refill on the other CPU", "/refill_on_other_cpu")):
        fresh = runs.get(f"latency/fresh/paced_200us{suffix}/iterations:10000/manual_time")
        reuse = runs.get(f"latency/reuse/paced_200us{suffix}/iterations:10000/manual_time")
        if not (fresh and reuse):
            continue
        ratio = fresh["p99_ns"] / reuse["p99_ns"]
        status = "met" if ratio <= 2.0 else "MISSED"
        print(f"\nFresh p99 / Reuse p99 at the same demand, {placement}: {ratio:.2f} "
              f"(goal <= 2): {status}")
        clock = float(context.get("clock_pair_ns", "0"))
        net = (fresh["p99_ns"] - clock) / max(reuse["p99_ns"] - clock, 1.0)
        print(f"Same ratio with the clock pair ({clock:.0f} ns) taken out of both: {net:.2f}")
    simple_table(runs, "fresh_saturation", "Fresh saturation, factory 50 us CPU, one consumer",
                 [("acquires/s (k)", lambda r: f"{r['items_per_second'] / 1e3:.1f}"),
                  ("pool hit ratio", hit_ratio)])
    simple_table(runs, "handoff", "acquire_timeout handoff: release -> waiter returns from acquire()",
                 latency)


if __name__ == "__main__":
    main()
