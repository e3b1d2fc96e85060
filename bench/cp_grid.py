#!/usr/bin/env python3
"""cp_grid.py: what CP's strategy space holds at 25% of the MACs (bench/RESULTS.md, "RL search").
Each strategy (channels kept per group) is written as a plan, pruned and fine-tuned as
bench/rl_results.sh's arms are (list procedure, half an epoch), for each seed; one line per run:
seed, name, channels kept per group, kept MACs, test accuracy. Finished runs (OUT/*.json) are
reused.

SPACE=fmnist_bn (the default): CP decides three groups there (the inputs of conv2, conv3 and
conv4; the last conv's input is never pruned): keep a of 32, b of 32 and c of 64. For c in 8..13
and a in 4, 6, ..., 14, b is the most that fits 25% (`pocketflow info --plan`); a strategy below
24% is left out; the uniform strategy (6, 6, 12) is added. cp_nb_batches 4.

SPACE=resnet20 (MODEL: the resnet20 to prune): eleven groups (the three residual groups and the
inner channels of every block but the last). The uniform strategy (7 of 16, 15 of 32, 30 of 64),
ten shapes (residual groups wider or thinner than the inner channels, one stage wider than the
others), each scaled to the most that fits 25%, and, with ROLLOUTS=rl/rlouts.csv of a search on
that model, its roll-outs ranked 1, 3, 6, 11, 21, 36, 51, 71 and 91 by reward. Duplicates run
once. cp_nb_batches 2.

Usage: bench/cp_grid.py "SEEDS" [LANE NLANES]
       (environment: PF, OUT, MODEL, THREADS, SPACE, ROLLOUTS)
"""
import csv
import json
import os
import subprocess
import sys

PF = os.environ.get("PF", "build/pocketflow")
OUT = os.environ.get("OUT", "bench/cp_grid_out")
SPACE = os.environ.get("SPACE", "fmnist_bn")
MODEL = os.environ.get("MODEL", "assets/models/fmnist_bn.h5")
THREADS = os.environ.get("THREADS", "1")

# per space: groups (decision name -> channels), plan layer -> group, cp_nb_batches
if SPACE == "fmnist_bn":
    N = {"conv2": 32, "conv3": 32, "conv4": 64}
    GROUP = {g: g for g in N}
    CPB = "4"
elif SPACE == "resnet20":
    N = {"s1b1_conv1": 16, "s1b1_conv2": 16, "s1b2_conv2": 16, "s1b3_conv2": 16,
         "s2b1_conv2": 32, "s2b2_conv1": 32, "s2b2_conv2": 32, "s2b3_conv2": 32,
         "s3b1_conv2": 64, "s3b2_conv1": 64, "s3b2_conv2": 64}
    RES = {"s1b1_conv1": ("s1b2_conv1", "s1b3_conv1", "s2b1_conv1", "s2b1_proj"),
           "s2b2_conv1": ("s2b3_conv1", "s3b1_conv1", "s3b1_proj"),
           "s3b2_conv1": ("s3b3_conv1", "fc")}
    GROUP = {g: g for g in N}
    GROUP.update({l: g for g, ls in RES.items() for l in ls})
    CPB = "2"
else:
    sys.exit("cp_grid.py: SPACE must be fmnist_bn or resnet20, not '%s'" % SPACE)


def plan(name, keep):
    p = os.path.join(OUT, name + ".plan.yaml")
    with open(p + ".tmp", "w") as f:
        f.write("round_to: 1\nlayers:\n")
        for layer, g in GROUP.items():
            f.write("  %s: {prune_ratio: %.9g}\n" % (layer, 1 - keep[g] / N[g]))
    os.rename(p + ".tmp", p)
    return p


def kept(p):
    r = subprocess.run([PF, "info", MODEL, "--plan", p, "--json"], capture_output=True,
                       text=True, check=True)
    d = json.loads(r.stdout)
    return d["after_totals"]["macs"] / d["totals"]["macs"]


def fmnist_bn(tmp):
    out = []
    for c in range(8, 14):
        for a in range(4, 15, 2):
            k = lambda b: {"conv2": a, "conv3": b, "conv4": c}
            b = max((b for b in range(1, 33) if kept(plan(tmp, k(b))) <= 0.25), default=None)
            if b and b >= 3 and kept(plan(tmp, k(b))) >= 0.24:
                out.append(("%d_%d_%d" % (a, b, c), k(b)))
    return out + [("6_6_12", {"conv2": 6, "conv3": 6, "conv4": 12})]


def scaled(tmp, v):
    """v scaled by the largest s whose keep = floor(s v N) fits 25% (bisection)."""
    lo, hi, best = 0.0, 4.0, None
    for _ in range(25):
        s = (lo + hi) / 2
        keep = {g: max(1, min(N[g], int(s * v[g] * N[g]))) for g in N}
        if kept(plan(tmp, keep)) <= 0.25:
            lo, best = s, keep
        else:
            hi = s
    return best


def resnet20(tmp):
    out = [("uniform", {g: {16: 7, 32: 15, 64: 30}[N[g]] for g in N})]
    if os.environ.get("ROLLOUTS"):
        rows = sorted(csv.DictReader(open(os.environ["ROLLOUTS"])), key=lambda r: -float(r["reward"]))
        for rank in (0, 2, 5, 10, 20, 35, 50, 70, 90):
            if rank < len(rows):
                out.append(("rank%d" % (rank + 1),
                            {g: round(float(rows[rank][g]) * N[g]) for g in N}))
    res = set(RES)
    st1 = {g for g in N if g.startswith("s1")}
    st3 = {g for g in N if g.startswith("s3")}
    shapes = {"reswide": lambda g: 2.0 if g in res else 1.0,
              "resthin": lambda g: 0.5 if g in res else 1.0,
              "st3wide": lambda g: 0.5 if g in st1 else 1.5 if g in st3 else 1.0,
              "st1wide": lambda g: 1.5 if g in st1 else 0.5 if g in st3 else 1.0,
              "reswide_m": lambda g: 1.3 if g in res else 1.0,
              "resthin_m": lambda g: 0.77 if g in res else 1.0,
              "st3wide_m": lambda g: 0.8 if g in st1 else 1.2 if g in st3 else 1.0,
              "st1wide_m": lambda g: 1.2 if g in st1 else 0.8 if g in st3 else 1.0,
              "st2wide": lambda g: 0.85 if g in st1 or g in st3 else 1.3,
              "st2thin": lambda g: 1.15 if g in st1 or g in st3 else 0.7}
    for name, f in shapes.items():
        out.append((name, scaled(tmp, {g: f(g) for g in N})))
    return out


def main():
    seeds = sys.argv[1].split()
    lane, lanes = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (0, 1)
    os.makedirs(OUT, exist_ok=True)
    tmp = "probe_lane%d" % lane  # each lane probes budgets in its own plan file
    seen, strategies = set(), []
    for name, keep in (fmnist_bn if SPACE == "fmnist_bn" else resnet20)(tmp):
        if tuple(keep[g] for g in N) not in seen:
            seen.add(tuple(keep[g] for g in N))
            strategies.append((name, keep))
    for seed in seeds:
        for i, (sname, keep) in enumerate(strategies):
            if i % lanes != lane:
                continue
            p = plan(sname, keep)
            name = os.path.join(OUT, "s%s_%s" % (seed, sname))
            if not os.path.exists(name + ".json"):
                r = subprocess.run([PF, "run", "--model", MODEL, "--data", "fmnist",
                                    "--nb_epochs_rat", "0.05", "--nb_smpls_val", "5000",
                                    "--threads", THREADS, "--json", "--no_run_dir",
                                    "--learner", "channel", "--cp_prune_option", "list",
                                    "--plan", p, "--cp_nb_batches", CPB,
                                    "--seed", seed, "--out", name + ".h5"],
                                   capture_output=True, text=True, check=True)
                with open(name + ".json.tmp", "w") as f:
                    f.write(r.stdout)
                os.rename(name + ".json.tmp", name + ".json")
            with open(name + ".json") as f:
                acc = json.load(f)["test_accuracy"]
            print(seed, sname, " ".join(str(keep[g]) for g in N), "%.4f" % kept(p), acc,
                  flush=True)


if __name__ == "__main__":
    main()
