#!/usr/bin/env python3
"""cp_grid.py: what CP's strategy space holds on fmnist_bn at 25% of the MACs (bench/RESULTS.md,
"RL search", the grid). CP decides three channel groups there (the inputs of conv2, conv3 and
conv4; the last conv's input is never pruned): keep a of 32, b of 32 and c of 64. For c in
8..13 and a in 4, 6, ..., 14, b is the most that fits 25% (`pocketflow info --plan`), and a
strategy below 24% is left out; the uniform strategy (6, 6, 12) is added. Each is pruned and
fine-tuned as bench/rl_results.sh's arms are (list procedure, half an epoch, cp_nb_batches 4),
for each seed; one line per run: seed a b c kept-MACs test-accuracy. Finished runs (OUT/*.json)
are reused.

Usage: bench/cp_grid.py "SEEDS" [LANE NLANES]   (environment: PF, OUT, MODEL, THREADS)
"""
import json
import os
import subprocess
import sys

PF = os.environ.get("PF", "build/pocketflow")
OUT = os.environ.get("OUT", "bench/cp_grid_out")
MODEL = os.environ.get("MODEL", "assets/models/fmnist_bn.h5")
THREADS = os.environ.get("THREADS", "1")


def plan(a, b, c):
    p = os.path.join(OUT, "p_%d_%d_%d.plan.yaml" % (a, b, c))
    with open(p, "w") as f:
        f.write("round_to: 1\nlayers:\n")
        for name, keep, n in (("conv2", a, 32), ("conv3", b, 32), ("conv4", c, 64)):
            f.write("  %s: {prune_ratio: %.9g}\n" % (name, 1 - keep / n))
    return p


def kept(p):
    r = subprocess.run([PF, "info", MODEL, "--plan", p, "--json"], capture_output=True,
                       text=True, check=True)
    d = json.loads(r.stdout)
    return d["after_totals"]["macs"] / d["totals"]["macs"]


def strategies():
    out = []
    for c in range(8, 14):
        for a in range(4, 15, 2):
            b = max((b for b in range(1, 33) if kept(plan(a, b, c)) <= 0.25), default=None)
            if b and b >= 3 and kept(plan(a, b, c)) >= 0.24:
                out.append((a, b, c))
    return out + [(6, 6, 12)]


def main():
    seeds = sys.argv[1].split()
    lane, lanes = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (0, 1)
    os.makedirs(OUT, exist_ok=True)
    for seed in seeds:
        for i, (a, b, c) in enumerate(strategies()):
            if i % lanes != lane:
                continue
            name = os.path.join(OUT, "s%s_%d_%d_%d" % (seed, a, b, c))
            if not os.path.exists(name + ".json"):
                r = subprocess.run([PF, "run", "--model", MODEL, "--data", "fmnist",
                                    "--nb_epochs_rat", "0.05", "--nb_smpls_val", "5000",
                                    "--threads", THREADS, "--json", "--no_run_dir",
                                    "--learner", "channel", "--cp_prune_option", "list",
                                    "--plan", plan(a, b, c), "--cp_nb_batches", "4",
                                    "--seed", seed, "--out", name + ".h5"],
                                   capture_output=True, text=True, check=True)
                with open(name + ".json.tmp", "w") as f:
                    f.write(r.stdout)
                os.rename(name + ".json.tmp", name + ".json")
            with open(name + ".json") as f:
                acc = json.load(f)["test_accuracy"]
            print(seed, a, b, c, "%.4f" % kept(plan(a, b, c)), acc, flush=True)


if __name__ == "__main__":
    main()
