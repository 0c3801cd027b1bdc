#!/usr/bin/env python3
"""Compares two builds of warmpool_pool_bench run alternately on one machine
state: for every benchmark both sides ran, the median over each side's runs of
the per-run median real time, and the ratio new / old (above 1: new is slower).

Usage: bench/compare_builds.py --old a1.json a2.json --new b1.json b2.json
(each file from --benchmark_out=... --benchmark_out_format=json, with
--benchmark_repetitions=N; the runs alternate old, new, old, new, ...).
--time cpu_time compares the benchmark threads' CPU time instead of real
time: on a machine other work shares, time spent descheduled then counts
for neither side.
"""
import argparse
import json
import statistics


def medians(path, field):
    with open(path) as f:
        doc = json.load(f)
    out = {}
    for b in doc["benchmarks"]:
        if b.get("run_type") == "aggregate" and b["aggregate_name"] == "median":
            out[b["run_name"]] = b[field]
        elif b.get("run_type") != "aggregate" and b["run_name"] not in out:
            out[b["run_name"]] = b[field]
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--old", nargs="+", required=True)
    parser.add_argument("--new", nargs="+", required=True)
    parser.add_argument("--time", choices=("real_time", "cpu_time"), default="real_time")
    args = parser.parse_args()
    old = [medians(p, args.time) for p in args.old]
    new = [medians(p, args.time) for p in args.new]
    names = [n for n in old[0] if all(n in r for r in old + new)]
    print(f"{len(args.old)} runs of each build, alternating; median of the per-run medians "
          f"of {args.time}\n")
    print("| benchmark | old ns | new ns | new / old | new runs (ns) |")
    print("|---|---:|---:|---:|---|")
    for name in sorted(names):
        o = statistics.median(r[name] for r in old)
        n = statistics.median(r[name] for r in new)
        spread = ", ".join(f"{r[name]:.2f}" for r in new)
        print(f"| {name} | {o:.2f} | {n:.2f} | {n / o:.3f} | {spread} |")


if __name__ == "__main__":
    main()
