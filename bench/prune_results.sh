#!/usr/bin/env bash
# prune_results.sh: the Results table of the channel-pruning issue (bench/RESULTS.md,
# "Channel pruning"). For each model and MACs target, runs cpr (chn-pruned-rmt), cp (channel),
# cpg (chn-pruned-gpu), dcp (dis-chn-pruned) and an L1-norm baseline (channel --cp_lasso=False
# --cp_refit=False) on the SAME plan (so every learner removes the same number of channels per
# group), and prints one markdown row each: kept MACs, validation accuracy before and after
# selection + reconstruction, test accuracy after a short fine-tune, measured speed-up
# (pocketflow bench --layers, 1 thread, batch SPEED_BATCH) beside the MACs ratio, and the run's
# wall time (selection + fine-tune + evaluations).
# Finished runs (OUT/<model>_<pct>_<learner>.log) are reused.
#
# Usage: bench/prune_results.sh            (fmnist_bn only)
#        RESNET=1 bench/prune_results.sh   (also resnet20_fmnist; slow: it trains it first
#                                           unless OUT/resnet20_fmnist.h5 is there)
# Knobs (environment): BUILD (build-prune), PF (BUILD/pocketflow), OUT (bench/prune_out), SEED (1),
# FT_RAT (0.2: epochs of fine-tuning), SMPLS (1000 images sampled per layer), VAL (1000
# validation images), LEARNERS ("cpr cp cpg dcp l1"), DCP_ITERS (200 Adam steps per auxiliary
# head), ROUND (1: the plans' round_to, e.g. 16 for channel counts oneDNN runs faster),
# SPEED_BATCH (1: the batch of the speed-up measurement).
# SPEED_ONLY=1: no pruning runs; for each model, target, ROUND and SPEED_BATCH (both may then be
# lists, e.g. ROUND="1 8 16" SPEED_BATCH="1 128") time the model against the plan
# (`pocketflow bench --layers MODEL --plan PLAN`: the same shapes as the pruned model) REPS (3)
# times and print the median speed-up beside the MACs ratio, for the training graph
# (pf_model_forward) and for the inference network (model/infer.h: batch norm folded, blocked
# layout).
set -euo pipefail
BUILD=${BUILD:-build-prune}
PF=${PF:-$BUILD/pocketflow}
OUT=${OUT:-bench/prune_out}
LEARNERS=${LEARNERS:-cpr cp cpg dcp l1}
DCP_ITERS=${DCP_ITERS:-200}
ROUND=${ROUND:-1}
SPEED_BATCH=${SPEED_BATCH:-1}
SEED=${SEED:-1}
FT_RAT=${FT_RAT:-0.2}
SMPLS=${SMPLS:-1000}
VAL=${VAL:-1000}
mkdir -p "$OUT"

# ---- the models ----
BN=assets/models/fmnist_bn.h5
if [ ! -f "$BN" ]; then
    BN=$OUT/fmnist_bn.h5
    if [ ! -f "$BN" ]; then
        echo "training fmnist_bn (1 epoch, seed $SEED): the bundled model is not there yet" >&2
        $PF run --model assets/nets/fmnist_bn.yaml --data fmnist --learner full-prec \
            --nb_epochs 1 --lrn_rate_init 0.1 --seed "$SEED" --nb_smpls_val "$VAL" \
            --no_run_dir --out "$BN" 2>"$OUT/train_fmnist_bn.log"
    fi
fi
MODELS="$BN"
if [ "${RESNET:-0}" = 1 ]; then
    RN=$OUT/resnet20_fmnist.h5
    if [ ! -f "$RN" ]; then
        $PF run --model assets/nets/resnet20_fmnist.yaml --data fmnist --learner full-prec \
            --nb_epochs 1 --lrn_rate_init 0.1 --seed "$SEED" --nb_smpls_val "$VAL" \
            --no_run_dir --out "$RN" 2>"$OUT/train_resnet20.log"
    fi
    MODELS="$MODELS $RN"
fi

# ---- plans: the same per-layer prune ratio on every conv2d except the first ----
# (a ratio r on inputs removes about r of both sides of a middle conv: MACs ~ (1 - r)^2)
plan_for() { # model ratio file
    local names
    names=$($PF info "$1" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
convs = [l["name"] for l in d["layers"] if l["type"] == "conv2d"]
print(" ".join(convs[1:]))')
    {
        [ "$ROUND" = 1 ] || echo "round_to: $ROUND"
        echo "layers:"
        for n in $names; do echo "  $n: {prune_ratio: $2}"; done
    } >"$3"
}

ms_of() { $PF bench --layers "$1" --batch "$SPEED_BATCH" --threads 1 --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["model_ms"])'; }

if [ "${SPEED_ONLY:-0}" = 1 ]; then
    REPS=${REPS:-3}
    echo "| model | target MACs | round_to | batch | kept MACs | MACs ratio | speed-up, training graph (median of $REPS) | / MACs ratio | speed-up, inference network | / MACs ratio |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for model in $MODELS; do
        base=$(basename "$model" .h5)
        for target in 50:0.3 25:0.5; do
            for r in $ROUND; do
                plan=$OUT/${base}_plan_${target%%:*}r$r.yaml
                ROUND=$r plan_for "$model" "${target##*:}" "$plan"
                for b in $SPEED_BATCH; do
                    for _ in $(seq "$REPS"); do
                        $PF bench --layers "$model" --plan "$plan" --batch "$b" --threads 1 \
                            --json 2>/dev/null
                    done | python3 -c "
import json, statistics, sys
runs = [json.loads(line) for line in sys.stdin if line.strip()]
k = runs[0]['macs_ratio']
s = statistics.median(r['speedup'] for r in runs)
i = statistics.median(r['infer_speedup'] for r in runs)
print('| $base | ${target%%:*}%% | $r | $b | %.1f%% | %.2fx | %.2fx | %.2f | %.2fx | %.2f |' % (100 * k, 1 / k, s, s * k, i, i * k))"
                done
            done
        done
    done
    exit 0
fi

echo "| model | target MACs | learner | kept MACs | val acc before | val acc selected | test acc fine-tuned | speed-up (MACs ratio) | time s |"
echo "|---|---|---|---|---|---|---|---|---|"
for model in $MODELS; do
    base=$(basename "$model" .h5)
    ms0=$(ms_of "$model")
    for target in 50:0.3 25:0.5; do
        pct=${target%%:*}
        ratio=${target##*:}
        sfx=$pct
        [ "$ROUND" = 1 ] || sfx=${pct}r$ROUND
        plan=$OUT/${base}_plan_$sfx.yaml
        plan_for "$model" "$ratio" "$plan"
        for learner in $LEARNERS; do
            case $learner in
            cpr) args="--learner=chn-pruned-rmt --cpr_nb_smpls=$SMPLS" ;;
            cp) args="--learner=channel --cp_nb_batches=$((SMPLS / 128 + 1))" ;;
            cpg) args="--learner=chn-pruned-gpu --cpg_nb_smpls=$SMPLS --cpg_nb_iters_layer=200" ;;
            dcp)
                args="--learner=dis-chn-pruned --dcp_nb_smpls=$SMPLS"
                args="$args --dcp_nb_iters_block=$DCP_ITERS"
                ;;
            l1) args="--learner=channel --cp_lasso=False --cp_refit=False --cp_nb_batches=1" ;;
            esac
            res=$OUT/${base}_${sfx}_${learner}
            if ! grep -q '^finished' "$res.log" 2>/dev/null; then # reuse a finished run
                # shellcheck disable=SC2086
                $PF run --model "$model" --data fmnist $args --plan "$plan" --seed "$SEED" \
                    --nb_epochs 1 --nb_epochs_rat "$FT_RAT" --lrn_rate_init 0.01 \
                    --nb_smpls_val "$VAL" --no_run_dir --out "$res.h5" 2>"$res.log"
            fi
            secs=$(sed -n 's/^finished: .* in \([0-9.]*\)s$/\1/p' "$res.log")
            full=$(sed -n 's/.*validation accuracy (full): \([0-9.]*\).*/\1/p' "$res.log")
            sel=$(sed -n 's/.*validation accuracy (pruned): \([0-9.]*\).*/\1/p' "$res.log")
            kept=$(sed -n 's/.*done, \([0-9.]*\)% of the MACs kept.*/\1/p' "$res.log")
            test=$(sed -n 's/^finished: test accuracy \([0-9.]*\).*/\1/p' "$res.log")
            ms1=$(ms_of "$res.h5")
            python3 -c "
k = float('$kept') / 100
s = $ms0 / $ms1
print('| $base | $sfx%% | $learner | %.1f%% | $full | $sel | $test | %.2fx (%.2fx) | %.0f |'
      % (100 * k, s, 1 / k, $secs))"
        done
    done
done
