#!/usr/bin/env bash
# run.sh: pocketflow against PyTorch (../shared/bench/torch_ref.py) on the same machine, in the
# same run, with the same thread count, for lenet5_fmnist, convnet_fmnist and resnet20.
# Prints each side's JSON and the ratios (pocketflow / PyTorch; for latency and memory lower
# is better, so the ratio printed is PyTorch / pocketflow: above 1 means pocketflow wins).
#   bench/run.sh [THREADS] [STEPS]     (PF_APP: the binary, default build/pocketflow)
# Leaves OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as they are: both sides run under the same values.
set -eu
cd "$(dirname "$0")/.."
THREADS=${1:-2}
STEPS=${2:-100}
APP=${PF_APP:-build/pocketflow}
REF=${PF_TORCH_REF:-../shared/bench/torch_ref.py}
[ -x "$APP" ] || make -s all
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
printf '%-15s %12s %12s %12s %12s\n' net train_x infer_x latency_x memory_x
for net in lenet5_fmnist convnet_fmnist resnet20; do
    file=$net
    [ "$net" = resnet20 ] && file=resnet20_fmnist
    pf=$("$APP" bench --net "$file" --threads "$THREADS" --steps "$STEPS" --json)
    th=$(/usr/bin/python3 "$REF" --net "$net" --threads "$THREADS" --steps "$STEPS")
    echo "pocketflow: $pf" >&2
    echo "pytorch:    $th" >&2
    /usr/bin/python3 - "$net" "$pf" "$th" <<'PY'
import json, sys
net, a, b = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(f"{net:15s} {a['train_img_per_s']/b['train_img_per_s']:12.2f} "
      f"{a['infer_img_per_s']/b['infer_img_per_s']:12.2f} "
      f"{b['latency_b1_ms']/a['latency_b1_ms']:12.2f} {b['peak_rss_mib']/a['peak_rss_mib']:12.2f}")
PY
done
