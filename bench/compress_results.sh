#!/usr/bin/env bash
# compress_results.sh: the sparsity and quantization results table of issue 6 on Fashion-MNIST:
# accuracy and stored size (the model file) of weight-sparse at 50/75/90/95%, uniform at 8/4/2
# bits per tensor and per channel, uniform-tf int8 (with its int8-path accuracy and speed), and
# non-uniform at 4/3/2 bits, for each model given (default: the bundled fmnist_bn and the
# PyTorch-trained convnet_fmnist of ../shared/fixtures). Prints a markdown table per model.
#
#   bench/compress_results.sh [MODEL.h5 ...]
# Environment: PF_APP (default build-quant/pocketflow), THREADS (default 1: on a loaded shared
# machine OpenMP's spinning makes 2 threads slower), WS_EPOCHS (fine-tune epochs of
# weight-sparse, default 0.5), Q_EPOCHS (of the quantizers, default 0.2), SEED (default 1),
# OUT (where the models go, default a temporary directory that is removed).
# The fine-tunes are short on purpose (PocketFlow: the full schedule for weight-sparse, 60
# epochs for uniform / non-uniform); every run starts from the trained model.
set -eu
cd "$(dirname "$0")/.."
APP=${PF_APP:-build-quant/pocketflow}
THREADS=${THREADS:-1}
WS_EPOCHS=${WS_EPOCHS:-0.5}
Q_EPOCHS=${Q_EPOCHS:-0.2}
SEED=${SEED:-1}
DATA=${DATA:-fmnist}
BUILD=$(dirname "$APP")
export OMP_NUM_THREADS=$THREADS
if [ $# -eq 0 ]; then
    set -- assets/models/fmnist_bn.h5 ../shared/fixtures/convnet_fmnist_torch.h5
fi
if [ -z "${OUT:-}" ]; then
    OUT=$(mktemp -d)
    trap 'rm -rf "$OUT"' EXIT
fi
[ -x "$APP" ] || { echo "build $APP first (make BUILD=$BUILD $APP)" >&2; exit 1; }
SPEED=$BUILD/int8_speed
if [ ! -x "$SPEED" ] || [ bench/int8_speed.c -nt "$SPEED" ]; then
    cc -O2 -std=c11 -D_GNU_SOURCE -Isrc bench/int8_speed.c "$BUILD/libpocketflow.a" \
        $(pkg-config --libs yaml-0.1 openblas hdf5 zlib) -ldnnl -fopenmp -lpthread -lm -o "$SPEED"
fi

common=(--data "$DATA" --seed="$SEED" --threads "$THREADS" --no_run_dir --json)
size() { stat -c %s "$1"; }
acc_of() { sed -n 's/.*"\(test_accuracy\|accuracy\)": \([0-9.]*\).*/\2/p' | head -1; }

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads $THREADS, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# fine-tune: weight-sparse $WS_EPOCHS epoch, quantizers $Q_EPOCHS epoch, seed $SEED"
for M in "$@"; do
    name=$(basename "$M" .h5)
    base_acc=$("$APP" eval "$M" --data "$DATA" --threads "$THREADS" --json | acc_of)
    base_size=$(size "$M")
    echo
    echo "## $name: float accuracy $base_acc, file $base_size bytes"
    echo
    echo "| learner | setting | test acc | delta (points) | file bytes | size ratio | seconds |"
    echo "|---|---|---|---|---|---|---|"
    row() { # LABEL SETTING OUTFILE -- run args...
        local label=$1 setting=$2 out=$3
        shift 4
        local t0 t1 json acc
        t0=$(date +%s)
        if ! json=$("$APP" run --model "$M" "${common[@]}" --out "$out" "$@" 2>"$OUT/err"); then
            echo "| $label | $setting | failed: $(tail -1 "$OUT/err") | | | | |"
            return
        fi
        t1=$(date +%s)
        acc=$(echo "$json" | acc_of)
        awk -v l="$label" -v s="$setting" -v a="$acc" -v b="$base_acc" -v f="$(size "$out")" \
            -v bs="$base_size" -v t=$((t1 - t0)) \
            'BEGIN { printf "| %s | %s | %.4f | %+.2f | %d | %.2fx | %d |\n", l, s, a, 100 * (a - b), f, bs / f, t }'
    }
    for r in 0.5 0.75 0.9 0.95; do
        row weight-sparse "$r" "$OUT/$name-ws$r.h5" -- --learner=weight-sparse --ws_prune_ratio="$r" \
            --nb_epochs="$WS_EPOCHS" --lrn_rate_init=0.01 --ws_mask_update_step=50
    done
    for b in 8 4 2; do
        row uniform "$b-bit per tensor" "$OUT/$name-uq$b-t.h5" -- --learner=uniform --uql_weight_bits="$b" \
            --uql_quant_epochs="$Q_EPOCHS"
        row uniform "$b-bit per channel" "$OUT/$name-uq$b-c.h5" -- --learner=uniform --uql_weight_bits="$b" \
            --uql_use_buckets=True --uql_bucket_type=channel --uql_quant_epochs="$Q_EPOCHS"
    done
    row uniform-tf "int8 (simulated)" "$OUT/$name-int8.h5" -- --learner=uniform-tf --nb_epochs="$Q_EPOCHS"
    for b in 4 3 2; do
        row non-uniform "$b-bit k-means" "$OUT/$name-nuq$b.h5" -- --learner=non-uniform \
            --nuql_weight_bits="$b" --nuql_init_style=kmeans --nuql_opt_mode=both \
            --nuql_quant_epochs="$Q_EPOCHS"
    done
    if [ -s "$OUT/$name-int8.h5" ]; then
        echo
        echo "int8 path ($SPEED, batch 100, threads $THREADS):"
        echo
        echo '```'
        "$SPEED" "$OUT/$name-int8.h5" "$M" "$THREADS" "$DATA" 100 5
        echo '```'
    fi
done
