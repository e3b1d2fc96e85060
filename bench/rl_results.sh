#!/usr/bin/env bash
# rl_results.sh: the Results table of the RL issue (bench/RESULTS.md, "RL search"). For a model,
# each seed and each budget, runs the DDPG search and then, with the SAME fine-tune, the uniform
# strategy at the same budget; prints one markdown row per (budget, seed): the RL strategy's
# reached budget and test accuracy, the uniform one's, the difference, and the search time.
#   - channel pruning at 50% and 25% of the MACs: `channel --cp_prune_option=auto`; uniform =
#     the search's own rl/uniform.plan.yaml (the largest uniform preserve ratio within the
#     budget), run through the same list procedure; cpr50 / cpr25 the same with
#     `chn-pruned-rmt --cpr_prune_option=auto` (CPR's selection; its last conv's input is a step);
#   - sparsity 90%: `weight-sparse --ws_prune_ratio_prtl=optimal` against `uniform`;
#   - 4 equivalent bits: `uniform --uql_enbl_rl_agent=True` against `--uql_weight_bits=4`.
# Rewards come from the validation split (first nb_smpls_val training images); the accuracies
# printed are on the test set. Finished runs (OUT/<tag>_<what>_<seed>_{rl,uni}.json) are reused.
# The last column is `pocketflow eval RL.h5 --against UNIFORM.h5` on the test set: the two-sided
# sign test over the images exactly one of the two models gets right (a large p: the difference
# is what chance gives).
#
# Usage: bench/rl_results.sh MODEL.h5 TAG "SEEDS" [WHAT...]
#        WHAT: cp50 cp25 ws90 uq4 (the default), cpr50 cpr25
# Knobs (environment): PF (build/pocketflow), OUT (bench/rl_out), RLOUTS (25 roll-outs),
# RLMIN (5: roll-outs before the agent trains), FT_RAT (0.05: nb_epochs_rat of every fine-tune,
# i.e. half an epoch of the 10-epoch schedule), EVAL (1000 validation images per reward),
# CPB (4: cp_nb_batches sampled per layer; cpr: CPB x 128 images), WSFT (50 fine-tune steps per
# WS roll-out), UQFT (50), CPFT (0: cp_/cpr_nb_iters_ft_rlout, fine-tune steps of each channel
# roll-out before its reward; 0 is PocketFlow's reward), CPBN (0: cp_/cpr_nb_batches_bn_rlout,
# batches re-estimating each channel roll-out's batch-norm statistics before its reward),
# FIN (0: cp_/cpr_nb_finalists, the search's best strategies fine-tuned in full beside the uniform
# one, the most accurate on the validation split kept), FROM (an earlier OUT: each channel search
# resumes the finished search of the same name there, --rl_resume, so only what follows the
# search runs again, e.g. with other FIN; same budget, seed and reward options), THREADS (2: --threads of every run; 1 lets two of these scripts share 2 cores).
set -euo pipefail
PF=${PF:-build/pocketflow}
OUT=${OUT:-bench/rl_out}
RLOUTS=${RLOUTS:-25}
RLMIN=${RLMIN:-5}
FT_RAT=${FT_RAT:-0.05}
EVAL=${EVAL:-1000}
CPB=${CPB:-4}
WSFT=${WSFT:-50}
UQFT=${UQFT:-50}
CPFT=${CPFT:-0}
CPBN=${CPBN:-0}
FIN=${FIN:-0}
FROM=${FROM:-}
THREADS=${THREADS:-2}
MODEL=$1
TAG=$2
SEEDS=$3
shift 3
WHATS=${*:-cp50 cp25 ws90 uq4}
mkdir -p "$OUT"

COMMON="--data fmnist --nb_epochs_rat $FT_RAT --rl_nb_smpls_eval $EVAL --nb_smpls_val 5000"
COMMON="$COMMON --threads $THREADS --json"
RL="--ddpg_batch_size 32"

# run NAME ARGS...: one pocketflow run, its JSON in OUT/NAME.json, its run dir in OUT/NAME.dir
run() {
    local name=$1
    shift
    [ -s "$OUT/$name.json" ] && return 0
    rm -rf "$OUT/runs_$name"
    local t0=$SECONDS
    $PF run --model "$MODEL" $COMMON --runs "$OUT/runs_$name" --out "$OUT/$name.h5" "$@" \
        >"$OUT/$name.json.tmp" 2>"$OUT/$name.log"
    echo "$((SECONDS - t0))" >"$OUT/$name.wall"
    mv "$OUT/$name.json.tmp" "$OUT/$name.json"
    ls -d "$OUT/runs_$name"/*/ | head -1 >"$OUT/$name.dir"
}

acc() { python3 -c 'import json,sys; print("%.4f" % json.load(open(sys.argv[1]))["test_accuracy"])' "$1"; }
# the search's seconds (sum of rl/rlouts.csv) and the best strategy's budget
search_s() { awk -F, 'NR > 1 { s += $8 } END { printf "%.0f", s }' "$(cat "$1")/rl/rlouts.csv"; }
best_budget() {
    local log
    log="$(cat "$1")/log.txt"
    if grep -q 'finalists: kept finalist' "$log"; then # the finalist's plan, its kept MACs
        $PF info "$MODEL" --plan "$(cat "$1")/rl/final.plan.yaml" --json | python3 -c \
            'import json,sys; d=json.load(sys.stdin); print("%.3f" % (d["after_totals"]["macs"] / d["totals"]["macs"]))'
        return
    fi
    if grep -q 'no roll-out beat the uniform strategy\|finalists: the uniform strategy is kept' "$log"; then
        echo "(uniform)"
        return
    fi
    python3 - "$(cat "$1")/rl/rlouts.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
# the roll-out that set the final best: the first row showing it in the best column (the
# highest reward may have been refused by the rl_uniform_p gate, so it is not always the best)
best = [r for r in rows if r["best"] == rows[-1]["best"]][0]
print("%.3f" % float(best["budget"]))
PY
}

# sign_p NAME: the sign test's p of NAME_rl.h5 against NAME_uni.h5 (cached in OUT/NAME_cmp.json)
sign_p() {
    local f="$OUT/$1_cmp.json"
    if [ ! -s "$f" ]; then
        $PF eval "$OUT/$1_rl.h5" --against "$OUT/$1_uni.h5" --data fmnist --threads "$THREADS" \
            --json >"$f.tmp"
        mv "$f.tmp" "$f"
    fi
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.2g (%d : %d)" % (j["sign_test_p"], j["won"], j["lost"]))' "$f"
}

# resume NAME: --rl_resume of the search NAME in FROM (nothing without FROM)
resume() { [ -n "$FROM" ] && echo "--rl_resume $(cat "$FROM/$1.dir")" || true; }

echo "| model | budget | seed | RL reached | RL test acc | uniform test acc | RL - uniform | search (s, $RLOUTS roll-outs) | sign test p (RL : uniform alone right) |"
echo "|---|---|---|---|---|---|---|---|---|"
for seed in $SEEDS; do
    for what in $WHATS; do
        case $what in
        cp50 | cp25)
            p=0.${what#cp}
            run "${TAG}_${what}_${seed}_rl" --learner channel --cp_prune_option auto \
                --cp_preserve_ratio "$p" --cp_nb_rlouts "$RLOUTS" --cp_nb_rlouts_min "$RLMIN" \
                --cp_nb_batches "$CPB" --cp_nb_iters_ft_rlout "$CPFT" \
                --cp_nb_batches_bn_rlout "$CPBN" --cp_nb_finalists "$FIN" --seed "$seed" $RL \
                $(resume "${TAG}_${what}_${seed}_rl")
            run "${TAG}_${what}_${seed}_uni" --learner channel --cp_prune_option list \
                --plan "$(cat "$OUT/${TAG}_${what}_${seed}_rl.dir")/rl/uniform.plan.yaml" \
                --cp_nb_batches "$CPB" --seed "$seed"
            label="${p#0.}% MACs"
            ;;
        cpr50 | cpr25)
            p=0.${what#cpr}
            run "${TAG}_${what}_${seed}_rl" --learner chn-pruned-rmt --cpr_prune_option auto \
                --cpr_preserve_ratio "$p" --cpr_nb_rlouts "$RLOUTS" --cpr_nb_rlouts_min "$RLMIN" \
                --cpr_nb_smpls "$((CPB * 128))" --cpr_nb_iters_ft_rlout "$CPFT" \
                --cpr_nb_batches_bn_rlout "$CPBN" --cpr_nb_finalists "$FIN" --seed "$seed" $RL \
                $(resume "${TAG}_${what}_${seed}_rl")
            run "${TAG}_${what}_${seed}_uni" --learner chn-pruned-rmt \
                --plan "$(cat "$OUT/${TAG}_${what}_${seed}_rl.dir")/rl/uniform.plan.yaml" \
                --cpr_nb_smpls "$((CPB * 128))" --seed "$seed"
            label="${p#0.}% MACs (cpr)"
            ;;
        ws90)
            run "${TAG}_${what}_${seed}_rl" --learner weight-sparse --ws_prune_ratio_prtl optimal \
                --ws_prune_ratio 0.9 --ws_nb_rlouts "$RLOUTS" --ws_nb_rlouts_min "$RLMIN" \
                --ws_nb_iters_ft "$WSFT" --seed "$seed" $RL
            run "${TAG}_${what}_${seed}_uni" --learner weight-sparse --ws_prune_ratio 0.9 \
                --seed "$seed"
            label="90% sparsity"
            ;;
        uq4)
            run "${TAG}_${what}_${seed}_rl" --learner uniform --uql_enbl_rl_agent True \
                --uql_equivalent_bits 4 --uql_nb_rlouts "$RLOUTS" --uql_nb_rlouts_min "$RLMIN" \
                --uql_tune_global_steps "$UQFT" --uql_quant_epochs 10 --seed "$seed" $RL
            run "${TAG}_${what}_${seed}_uni" --learner uniform --uql_weight_bits 4 \
                --uql_quant_epochs 10 --seed "$seed"
            label="4 bits"
            ;;
        *)
            echo "unknown budget $what (cp50 cp25 cpr50 cpr25 ws90 uq4)" >&2
            exit 2
            ;;
        esac
        a=$(acc "$OUT/${TAG}_${what}_${seed}_rl.json")
        b=$(acc "$OUT/${TAG}_${what}_${seed}_uni.json")
        d=$(python3 -c "print('%+.2f' % (100 * ($a - $b)))")
        echo "| $TAG | $label | $seed | $(best_budget "$OUT/${TAG}_${what}_${seed}_rl.dir") | $a | $b | $d pt | $(search_s "$OUT/${TAG}_${what}_${seed}_rl.dir") | $(sign_p "${TAG}_${what}_${seed}") |"
    done
done
