#!/usr/bin/env bash
# cli.sh: end-to-end tests of the pocketflow command line, as a user runs it. Each case runs
# the binary ($PF_APP, default build/pocketflow) and checks its exit status and output.
# Prints "N passed, N failed" and exits non-zero on any failure.
set -u
APP=${PF_APP:-build/pocketflow}
SHARED=${PF_SHARED:-../shared}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# expect_fail NAME GREP_PATTERN CMD...: non-zero exit, stderr matches, no crash (< 128)
expect_fail() {
    local name=$1 pat=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ $rc -eq 0 ]; then bad "$name: exit 0, expected failure"; return; fi
    if [ $rc -ge 128 ]; then bad "$name: crashed (exit $rc): $(head -c 300 "$T/err")"; return; fi
    if ! grep -qE -- "$pat" "$T/err"; then bad "$name: stderr lacks /$pat/: $(head -c 300 "$T/err")"; return; fi
    ok
}

# expect_ok NAME GREP_PATTERN CMD...: exit 0 and stdout matches
expect_ok() {
    local name=$1 pat=$2
    shift 2
    if ! "$@" >"$T/out" 2>"$T/err"; then bad "$name: exit $?: $(head -c 300 "$T/err")"; return; fi
    if ! grep -qE -- "$pat" "$T/out"; then bad "$name: stdout lacks /$pat/: $(head -c 300 "$T/out")"; return; fi
    ok
}

expect_ok version '^pocketflow [0-9]' "$APP" --version
expect_ok help 'commands:' "$APP" --help
for c in train eval info bench sensitivity; do
    expect_ok "$c --help" "usage: pocketflow $c" "$APP" "$c" --help
done
expect_fail unknown-command "unknown command 'frobnicate'" "$APP" frobnicate
expect_fail unknown-option "unknown option --bogus" "$APP" info --bogus
expect_fail bad-threads "threads" "$APP" info --threads 0
expect_fail bad-int "non-negative integer" "$APP" train --net x.yaml --batch abc

# info: reference totals through the CLI, JSON included
expect_ok info-convnet 'total: 13883904 MACs' "$APP" info assets/nets/convnet_fmnist.yaml
expect_ok info-json '"macs": 13883904' "$APP" info assets/nets/convnet_fmnist.yaml --json

# info: the profiler (plans, units, formats, input size)
expect_ok info-flops 'FLOPs' "$APP" info assets/nets/lenet5_fmnist.yaml --flops
expect_ok info-unit-header '^  #  layer .* MACs ' "$APP" info assets/nets/lenet5_fmnist.yaml
expect_ok info-csv '^total,,,,,,,,,44426,281640,' "$APP" info assets/nets/lenet5_fmnist.yaml --csv
expect_ok info-input 'input 3x64x64' "$APP" info assets/nets/resnet20_cifar.yaml --input 3x64x64
expect_ok info-input-macs 'total: 163250816 MACs' "$APP" info assets/nets/resnet20_cifar.yaml --input 3x64x64
expect_fail info-bad-input "CxHxW" "$APP" info assets/nets/resnet20_cifar.yaml --input 3x64
expect_fail info-json-csv "not both" "$APP" info assets/nets/lenet5_fmnist.yaml --json --csv
printf 'layers:\n  conv2: {prune_ratio: 0.5}\n  fc3: {w_bits: 4, sparsity: 0.5}\n' >"$T/plan.yaml"
# conv2 keeps 3 of conv1's 6 channels: conv1 86400 -> 43200 MACs, conv2 153600 -> 76800
expect_ok info-plan 'after: 161640 MACs' "$APP" info assets/nets/lenet5_fmnist.yaml --plan "$T/plan.yaml"
expect_ok info-plan-json '"after_totals": \{"macs": 161640' "$APP" info assets/nets/lenet5_fmnist.yaml --plan "$T/plan.yaml" --json
expect_ok info-plan-csv ',after_macs,' "$APP" info assets/nets/lenet5_fmnist.yaml --plan "$T/plan.yaml" --csv
printf '1, 0.5\n' >"$T/ratio.list"
expect_ok info-ratio-list 'after: 161640 MACs' "$APP" info assets/nets/lenet5_fmnist.yaml --plan "$T/ratio.list"
printf 'layers:\n  conv9: {prune_ratio: 0.5}\n' >"$T/bad1.yaml"
expect_fail plan-unknown-layer "bad1.yaml:2:.*layer 'conv9' is not in" "$APP" info assets/nets/lenet5_fmnist.yaml --plan "$T/bad1.yaml"
printf 'layers:\n  conv2: {prune_ratio: 1.5}\n' >"$T/bad2.yaml"
expect_fail plan-bad-ratio "bad2.yaml:2:.*conv2: prune_ratio 1.5 is outside" "$APP" info assets/nets/lenet5_fmnist.yaml --plan "$T/bad2.yaml"
printf 'layers:\n  fc3: {w_bits: 33}\n' >"$T/bad3.yaml"
expect_fail plan-bad-bits "bad3.yaml:2:.*fc3: w_bits 33" "$APP" info assets/nets/lenet5_fmnist.yaml --plan "$T/bad3.yaml"
printf 'layers:\n  conv2: {prune_ratio: 0.95}\n' >"$T/bad4.yaml"
expect_fail plan-zero-channels "conv2: prune_ratio 0.95 leaves 0 of its 6" "$APP" info assets/nets/lenet5_fmnist.yaml --plan "$T/bad4.yaml"
expect_fail plan-missing "nope.yaml: cannot open" "$APP" info assets/nets/lenet5_fmnist.yaml --plan "$T/nope.yaml"

# bench --layers: per-layer times; with a plan the shrunk model's speed-up
expect_ok bench-layers 'GFLOP/s' "$APP" bench --layers assets/nets/lenet5_fmnist.yaml --steps 3 --warmup 1
expect_ok bench-layers-plan 'measured speed-up' "$APP" bench --layers assets/nets/lenet5_fmnist.yaml --plan "$T/plan.yaml" --steps 3 --warmup 1
expect_ok bench-layers-json '"speedup": ' "$APP" bench --layers assets/nets/resnet20_cifar.yaml --plan "$T/ratio.list" --steps 2 --warmup 0 --json
# the inference network is timed too; counts that are not whole 16-channel blocks get a note
expect_ok bench-layers-infer 'inference network: shrunk .* speed-up [0-9.]+x' "$APP" bench --layers assets/nets/lenet5_fmnist.yaml --plan "$T/plan.yaml" --steps 3 --warmup 1
expect_ok bench-layers-note '1 pruned channel group keeps a count that is not a multiple of 16' "$APP" bench --layers assets/nets/lenet5_fmnist.yaml --plan "$T/plan.yaml" --steps 3 --warmup 1
expect_ok bench-layers-json-infer '"infer_speedup": [0-9]' "$APP" bench --layers assets/nets/resnet20_cifar.yaml --plan "$T/ratio.list" --steps 2 --warmup 0 --json
printf 'round_to: 16\nlayers:\n  conv3: {prune_ratio: 0.3}\n  conv4: {prune_ratio: 0.3}\n' >"$T/r16.yaml"
if "$APP" bench --layers assets/nets/fmnist_bn.yaml --plan "$T/r16.yaml" --steps 2 --warmup 0 >"$T/out" 2>"$T/err" &&
    grep -q 'measured speed-up' "$T/out" && ! grep -q 'note:' "$T/out"; then ok; else bad "bench-layers-r16: a round_to 16 plan gets no note: $(head -c 300 "$T/out")"; fi
# an odd plan is also timed rounded to whole blocks; its MACs ratio is info's for round_to 16
printf 'layers:\n  conv3: {prune_ratio: 0.3}\n  conv4: {prune_ratio: 0.3}\n' >"$T/odd.yaml"
expect_ok bench-layers-rounded 'with round_to 16: MACs ratio [0-9.]+ .* measured speed-up [0-9.]+x, inference network [0-9.]+x' \
    "$APP" bench --layers assets/nets/fmnist_bn.yaml --plan "$T/odd.yaml" --steps 2 --warmup 0
if "$APP" bench --layers assets/nets/fmnist_bn.yaml --plan "$T/odd.yaml" --steps 2 --warmup 0 --json >"$T/b.json" 2>/dev/null &&
    "$APP" info assets/nets/fmnist_bn.yaml --plan "$T/r16.yaml" --json >"$T/i.json" &&
    python3 -c '
import json, sys
b, i = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
want = i["after_totals"]["macs"] / i["totals"]["macs"]
assert b["odd_groups"] == 2, b["odd_groups"]
assert abs(b["rounded"]["macs_ratio"] - want) < 1e-6, (b["rounded"], want)
assert b["rounded"]["macs_ratio"] < b["macs_ratio"], "22 and 45 round to 16 and 48"
' "$T/b.json" "$T/i.json"; then ok; else bad "bench-layers-rounded-json: $(head -c 300 "$T/b.json")"; fi
if "$APP" bench --layers assets/nets/fmnist_bn.yaml --plan "$T/r16.yaml" --steps 2 --warmup 0 --json 2>/dev/null |
    python3 -c 'import json, sys; d = json.load(sys.stdin); assert "rounded" not in d and d["odd_groups"] == 0'; then ok; else bad "bench-layers-r16-json: a whole-block plan is not timed again"; fi
# a channel run says when its counts fall between blocks (0.7 of 32 and 64: 22 and 45), and not
# when they are whole (0.5: 16 and 32)
CPB="--model assets/nets/fmnist_bn.yaml --data synthetic --learner=channel --cp_nb_batches=1 --nb_epochs=0 --nb_smpls_val=200 --no_run_dir --out $T/cpb.h5"
if "$APP" run $CPB --cp_uniform_preserve_ratio=0.7 >"$T/out" 2>&1 &&
    grep -q 'channel: 3 of 3 pruned groups fall between 16-channel blocks' "$T/out"; then ok; else bad "cp-partial-blocks: $(tail -c 300 "$T/out")"; fi
if "$APP" run $CPB --cp_uniform_preserve_ratio=0.5 >"$T/out" 2>&1 && grep -q 'selection done' "$T/out" &&
    ! grep -q 'between 16-channel blocks' "$T/out"; then ok; else bad "cp-whole-blocks: $(tail -c 300 "$T/out")"; fi
expect_fail bench-plan-alone "go with --layers" "$APP" bench --plan "$T/plan.yaml"

# bad netdefs: each names the file and the problem
printf 'name: x\ninput: [1, 28, 28]\nclasses: 10\nlayers:\n  - {name: a, type: conv3d}\n' >"$T/unk.yaml"
expect_fail netdef-unknown-type "unk.yaml:5:.*unknown layer type 'conv3d'" "$APP" info "$T/unk.yaml"
printf 'name: x\ninput: [1, 28, 28]\nclasses: 10\nlayers:\n  - {name: a, type: dense, units: 10, colour: red}\n' >"$T/key.yaml"
expect_fail netdef-unknown-key "key.yaml:5:.*unknown key 'colour'" "$APP" info "$T/key.yaml"
printf 'name: x\ninput: [1, 28, 28\n' >"$T/syntax.yaml"
expect_fail netdef-syntax "syntax.yaml:" "$APP" info "$T/syntax.yaml"
expect_fail netdef-missing "nope.yaml: cannot open" "$APP" info "$T/nope.yaml"

# bad model files
printf 'this is not hdf5\n' >"$T/text.h5"
expect_fail model-not-hdf5 "text.h5.*not an HDF5" "$APP" eval "$T/text.h5"
if [ -f "$SHARED/fixtures/convnet_fmnist_torch.h5" ]; then
    head -c 20000 "$SHARED/fixtures/convnet_fmnist_torch.h5" >"$T/trunc.h5"
    expect_fail model-truncated "trunc.h5" "$APP" eval "$T/trunc.h5"
    # PyTorch-trained ConvNet: README gives 0.8797 on the 10000 test images
    if "$APP" eval "$SHARED/fixtures/convnet_fmnist_torch.h5" --data fmnist --json >"$T/out" 2>"$T/err"; then
        acc=$(sed -n 's/.*"accuracy": \([0-9.]*\).*/\1/p' "$T/out")
        if awk -v a="$acc" 'BEGIN { exit !(a >= 0.8792 && a <= 0.8802) }'; then ok; else bad "torch fixture accuracy $acc, want 0.8797 +- 0.0005"; fi
        # eval runs a float model on the inference network; the training graph counts the same
        # images right (logits within 1e-4: at most a near-tie or two may flip)
        if grep -q '"engine": "infer"' "$T/out"; then ok; else bad "eval did not use the inference network: $(cat "$T/out")"; fi
        c1=$(sed -n 's/.*"correct": \([0-9]*\).*/\1/p' "$T/out")
        "$APP" eval "$SHARED/fixtures/convnet_fmnist_torch.h5" --data fmnist --engine graph --json >"$T/out" 2>"$T/err"
        c2=$(sed -n 's/.*"correct": \([0-9]*\).*/\1/p' "$T/out")
        if grep -q '"engine": "graph"' "$T/out" && [ -n "$c1" ] && [ -n "$c2" ] && [ $((c1 - c2)) -le 2 ] && [ $((c2 - c1)) -le 2 ]; then ok; else bad "eval engines disagree: infer $c1, graph $c2 correct"; fi
    else
        bad "eval torch fixture: $(head -c 300 "$T/err")"
    fi
else
    bad "missing $SHARED/fixtures/convnet_fmnist_torch.h5"
fi

# bad datasets
mkdir -p "$T/ds"
printf 'garbage' | gzip >"$T/ds/train-images-idx3-ubyte.gz"
expect_fail dataset-bad "train-images-idx3-ubyte" "$APP" train --net assets/nets/lenet5_fmnist.yaml --data "mnist:$T/ds" --out "$T/m.h5"
expect_fail dataset-missing "no-such-dir" "$APP" train --net assets/nets/lenet5_fmnist.yaml --data "mnist:$T/no-such-dir" --out "$T/m.h5"

# train a tiny run on the synthetic set, then evaluate and inspect the file it wrote
expect_ok train-synthetic 'test accuracy' "$APP" train --net assets/nets/lenet5_fmnist.yaml --data synthetic \
    --epochs 1 --val 200 --batch 32 --out "$T/syn.h5"
expect_ok eval-synthetic '"accuracy": ' "$APP" eval "$T/syn.h5" --json
expect_ok info-model 'total: 281640 MACs' "$APP" info "$T/syn.h5"
[ ! -e "$T/syn.h5.tmp" ] && ok || bad "temporary file left behind"

# sensitivity: every channel group at each ratio, CSV
expect_ok sensitivity 'baseline' "$APP" sensitivity "$T/syn.h5" --data synthetic --ratios 0.25,0.5 --csv "$T/sens.csv"
if [ "$(grep -c '' "$T/sens.csv" 2>/dev/null)" = 10 ] && grep -q '^-1,baseline' "$T/sens.csv"; then ok; else bad "sensitivity csv: $(head -c 300 "$T/sens.csv" 2>&1)"; fi
expect_fail sensitivity-bad-ratio "in \(0, 1\)" "$APP" sensitivity "$T/syn.h5" --data synthetic --ratios 0.5,1.2
expect_fail sensitivity-no-model "which model" "$APP" sensitivity --data synthetic

# run: a learner on a model, with a run directory
expect_ok run-help 'learner full-prec' "$APP" run --help
expect_fail run-bad-learner "unknown learner 'nope'" "$APP" run --learner=nope --model assets/nets/lenet5_fmnist.yaml --data synthetic
expect_fail run-bad-option "unknown option --cpr_prune_ratio" "$APP" run --model assets/nets/lenet5_fmnist.yaml --data synthetic --cpr_prune_ratio=0.5
expect_fail run-bad-range "nb_epochs_rat = 0 is outside" "$APP" run --model assets/nets/lenet5_fmnist.yaml --data synthetic --nb_epochs_rat=0
expect_ok run-full-prec '"status": "finished"' "$APP" run --model "$T/syn.h5" --data synthetic --runs "$T/runs" \
    --nb_epochs=0.5 --nb_smpls_val=200 --batch_size=32 --json
if grep -q 'status: finished' "$T"/runs/*-full-prec/manifest.yaml 2>/dev/null && [ -s "$(echo "$T"/runs/*-full-prec/model.h5)" ]; then ok; else bad "run directory incomplete: $(ls "$T"/runs/* 2>&1)"; fi

# distillation (--enbl_dst, any learner): the run reports loss_dst; bad values name the option
expect_ok run-dst '"status": "finished"' "$APP" run --model "$T/syn.h5" --data synthetic --runs "$T/runs-dst" \
    --nb_epochs=0.25 --nb_smpls_val=200 --batch_size=32 --enbl_dst=True --tempr_dst=2 --json
if grep -q ',loss_dst,' "$T"/runs-dst/*-full-prec/metrics.csv 2>/dev/null; then ok; else bad "no loss_dst in metrics.csv"; fi
expect_fail dst-bad-tempr "tempr_dst = 0 is outside" "$APP" run --model "$T/syn.h5" --data synthetic --enbl_dst=True --tempr_dst=0
expect_fail dst-bad-weight "loss_w_dst = -1 is outside" "$APP" run --model "$T/syn.h5" --data synthetic --loss_w_dst=-1

# sparsity and quantization learners: each runs, writes a smaller model; bad options are clear
for l in "weight-sparse --ws_prune_ratio=0.75 --nb_epochs=0.5" "uniform --uql_weight_bits=4 --uql_quant_epochs=0.5" \
    "non-uniform --nuql_weight_bits=3 --nuql_quant_epochs=0.5" "uniform-tf --nb_epochs=0.5"; do
    set -- $l
    expect_ok "run-$1" '"status": "finished"' "$APP" run --model "$T/syn.h5" --data synthetic --learner="$1" "${@:2}" \
        --nb_smpls_val=200 --batch_size=32 --no_run_dir --out "$T/$1.h5" --json
done
expect_fail uql-range-bad "uql_weight_range must be one of minmax\|mse, got 'max'" "$APP" run --model "$T/syn.h5" --data synthetic --learner=uniform --uql_weight_range=max
expect_ok run-uniform-mse '"status": "finished"' "$APP" run --model "$T/syn.h5" --data synthetic --learner=uniform --uql_weight_bits=3 \
    --uql_weight_range=mse --uql_quant_epochs=0.25 --nb_smpls_val=200 --batch_size=32 --no_run_dir --out "$T/uq-mse.h5" --json
for l in uniform non-uniform uniform-tf; do
    if [ -s "$T/$l.h5" ] && [ "$(stat -c %s "$T/$l.h5")" -lt "$(stat -c %s "$T/syn.h5")" ]; then ok; else bad "$l.h5 is not smaller than the float model"; fi
done
expect_ok eval-quantized '"accuracy": ' "$APP" eval "$T/uniform.h5" --data synthetic --json
# a uniform-tf model runs on the int8 network; the training graph's simulated quantization
# classifies the same images (the integer logits equal the simulated ones to rounding)
expect_ok eval-int8 '"engine": "int8"' "$APP" eval "$T/uniform-tf.h5" --data synthetic --json
c1=$(sed -n 's/.*"correct": \([0-9]*\).*/\1/p' "$T/out")
expect_ok eval-int8-graph '"engine": "graph"' "$APP" eval "$T/uniform-tf.h5" --data synthetic --engine graph --json
c2=$(sed -n 's/.*"correct": \([0-9]*\).*/\1/p' "$T/out")
if [ -n "$c1" ] && [ -n "$c2" ] && [ $((c1 - c2)) -le 1 ] && [ $((c2 - c1)) -le 1 ]; then ok; else bad "int8 network $c1 correct, simulated $c2"; fi
expect_fail eval-int8-float "no activation quantization" "$APP" eval "$T/syn.h5" --engine int8
# bench times a uniform-tf model's int8 network beside the training graph
expect_ok bench-int8 'int8 network \(integer convolutions\): [0-9.]+ ms per forward.*[0-9.]+x the training graph' \
    "$APP" bench --layers "$T/uniform-tf.h5" --steps 3 --warmup 1
expect_ok bench-int8-json '"infer_ms": null, "int8_ms": [0-9]' "$APP" bench --layers "$T/uniform-tf.h5" --steps 2 --warmup 0 --json
# ... and, with a plan, its shrunk copy's int8 network (pruning keeps the quantized weights)
expect_ok bench-int8-plan '"after_int8_ms": [0-9.]+, "int8_speedup": [0-9]' "$APP" bench --layers "$T/uniform-tf.h5" --plan "$T/plan.yaml" --steps 2 --warmup 0 --json
expect_ok bench-int8-plan-text 'int8 network: shrunk [0-9.]+ ms per forward; measured speed-up' "$APP" bench --layers "$T/uniform-tf.h5" --plan "$T/plan.yaml" --steps 2 --warmup 0
expect_ok bench-float-json '"infer_ms": [0-9.]+, "int8_ms": null' "$APP" bench --layers "$T/syn.h5" --steps 2 --warmup 0 --json
expect_fail eval-infer-quantized "activation quantization is on" "$APP" eval "$T/uniform-tf.h5" --data synthetic --engine infer
expect_fail eval-engine-bad "--engine must be auto, int8, infer or graph, got 'gpu'" "$APP" eval "$T/syn.h5" --engine gpu
# a layer the inference network lacks (layernorm): auto falls back to the training graph and says why
printf 'name: ln\ninput: [1, 28, 28]\nclasses: 10\nlayers:\n  - {name: conv1, type: conv2d, filters: 4, kernel: 5, act: relu}\n  - {name: fc1, type: dense, units: 16}\n  - {name: ln1, type: layernorm, act: relu}\n  - {name: fc2, type: dense, units: 10}\n' >"$T/ln.yaml"
"$APP" train --net "$T/ln.yaml" --data synthetic --epochs 1 --val 200 --batch 32 --out "$T/ln.h5" >/dev/null 2>&1
expect_ok eval-fallback '"engine": "graph"' "$APP" eval "$T/ln.h5" --json
if grep -q 'ran on the training graph: ln1: the inference network has no layernorm' "$T/err"; then ok; else bad "eval fallback not explained: $(head -c 300 "$T/err")"; fi
expect_ok bench-fallback 'per forward' "$APP" bench --layers "$T/ln.h5" --steps 2 --warmup 0
if grep -q '^no inference-network timing: ln1: the inference network has no layernorm' "$T/err"; then ok; else bad "bench fallback not explained: $(head -c 300 "$T/err")"; fi
# eval --against: both models on the same images; of the images exactly one gets right, the
# first's wins minus its losses equal the difference of the two accuracies' counts
expect_ok eval-against '"against": \{"model": ' "$APP" eval "$T/syn.h5" --against "$T/uniform.h5" --data synthetic --json
ca=$(sed -n 's/^{"model": [^,]*, "accuracy": [^,]*, "loss": [^,]*, "samples": [0-9]*, "correct": \([0-9]*\).*/\1/p' "$T/out")
cb=$(sed -n 's/.*"against": {.*"correct": \([0-9]*\).*/\1/p' "$T/out")
w=$(sed -n 's/.*"won": \([0-9]*\).*/\1/p' "$T/out"); l=$(sed -n 's/.*"lost": \([0-9]*\).*/\1/p' "$T/out")
dif=$(sed -n 's/.*"differ": \([0-9]*\).*/\1/p' "$T/out")
if [ -n "$ca" ] && [ -n "$cb" ] && [ -n "$w" ] && [ -n "$l" ] && [ $((w - l)) -eq $((ca - cb)) ] && [ "$dif" -eq $((w + l)) ]; then ok; else bad "eval --against: correct $ca vs $cb, won $w lost $l differ $dif"; fi
expect_ok eval-against-self '"differ": 0, "won": 0, "lost": 0, "sign_test_p": 1\}' "$APP" eval "$T/syn.h5" --against "$T/syn.h5" --data synthetic --json
expect_ok eval-against-text 'exactly one of the two is right: .*Two-sided sign test p = ' "$APP" eval "$T/syn.h5" --against "$T/uniform.h5" --data synthetic
printf 'name: small\ninput: [1, 12, 12]\nclasses: 10\nlayers:\n  - {name: fc, type: dense, units: 10}\n' >"$T/small.yaml"
"$APP" train --net "$T/small.yaml" --data synthetic:1x12x12 --epochs 1 --val 200 --batch 32 --out "$T/small.h5" >/dev/null 2>&1
expect_fail eval-against-shape "--against .*small.h5 takes 1x12x12 images into 10 classes, but .*syn.h5 takes 1x28x28 into 10" \
    "$APP" eval "$T/syn.h5" --against "$T/small.h5" --data synthetic
expect_fail eval-against-missing "no-such.h5" "$APP" eval "$T/syn.h5" --against "$T/no-such.h5" --data synthetic
# a path with a quote and a backslash stays valid JSON in every --json output
cp "$T/syn.h5" "$T/q\"b\\.h5"
for args in "eval|$T/q\"b\\.h5|--data|synthetic|--against|$T/q\"b\\.h5|--json" "info|$T/q\"b\\.h5|--json" \
    "run|--model|$T/q\"b\\.h5|--data|synthetic|--nb_epochs=0|--nb_smpls_val=200|--no_run_dir|--out|$T/q\"b\\2.h5|--json"; do
    IFS='|' read -r -a a <<<"$args"
    if "$APP" "${a[@]}" >"$T/out" 2>"$T/err" && python3 -c 'import json,sys; json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])' "$T/out"; then ok; else bad "${a[0]} --json with a quoted path: $(head -c 300 "$T/out") $(head -c 300 "$T/err")"; fi
done
# info shows what the file really stores: the mask's sparsity, the weights' bits
expect_ok info-sparsity 'fc3 +weight +sparsity +75\.0%' "$APP" info "$T/weight-sparse.h5"
expect_ok info-bits 'conv2 +weight +sparsity +0\.0% +4-bit uniform' "$APP" info "$T/uniform.h5"
expect_ok info-stored-json '"stored": \[\{"layer": ' "$APP" info "$T/uniform.h5" --json
expect_fail ws-bad-ratio "ws_prune_ratio = 1.5 is outside" "$APP" run --model "$T/syn.h5" --data synthetic --learner=weight-sparse --ws_prune_ratio=1.5
expect_fail ws-ratio-one "outside \[0, 1\)" "$APP" run --model "$T/syn.h5" --data synthetic --learner=weight-sparse --ws_prune_ratio=1 --no_run_dir
expect_fail uq-bad-bits "uql_weight_bits = 33 is outside 1..32" "$APP" run --model "$T/syn.h5" --data synthetic --learner=uniform --uql_weight_bits=33
expect_fail uq-bad-bucket "channel\|split" "$APP" run --model "$T/syn.h5" --data synthetic --learner=uniform --uql_bucket_type=rows

# RL searches (tiny): each records its roll-outs and writes its best strategy as a plan file
# that `info --plan` reads; agent options are validated; learners without a search refuse them
for l in "channel --cp_prune_option=auto --cp_preserve_ratio=0.7 --cp_nb_batches=1 --cp_nb_rlouts=3 --cp_nb_rlouts_min=1" \
    "chn-pruned-rmt --cpr_prune_option=auto --cpr_preserve_ratio=0.7 --cpr_nb_smpls=64 --cpr_nb_rlouts=3 --cpr_nb_rlouts_min=1" \
    "weight-sparse --ws_prune_ratio_prtl=optimal --ws_prune_ratio=0.8 --ws_nb_rlouts=3 --ws_nb_rlouts_min=1 --ws_nb_iters_ft=5 --ws_nb_iters_rg=2" \
    "uniform --uql_enbl_rl_agent=True --uql_equivalent_bits=4 --uql_nb_rlouts=3 --uql_nb_rlouts_min=1 --uql_tune_global_steps=5 --uql_quant_epochs=0.1"; do
    set -- $l
    rm -rf "$T/rl-runs"
    m="$T/syn.h5"
    case $1 in channel | chn-pruned-rmt) m=assets/nets/fmnist_bn.yaml ;; esac # lenet5's convs are skipped
    expect_ok "rl-$1" '"status": "finished"' "$APP" run --model "$m" --data synthetic --learner="$1" "${@:2}" \
        --nb_epochs=0.1 --nb_smpls_val=200 --batch_size=32 --rl_nb_smpls_eval=100 --ddpg_batch_size=4 \
        --runs "$T/rl-runs" --out "$T/rl-$1.h5" --json
    d=$(ls -d "$T"/rl-runs/*/ 2>/dev/null | head -1)
    if [ -n "$d" ] && [ "$(wc -l <"$d/rl/rlouts.csv")" -eq 4 ]; then ok; else bad "rl-$1: rl/rlouts.csv lacks 3 roll-outs"; fi
    expect_ok "rl-$1-plan" 'total:' "$APP" info "$m" --plan "$d/rl/best.plan.yaml"
done
# a reward sample larger than the validation split, and a search too short for the agent to
# train, are said, not silently changed
expect_ok rl-eval-clamp '1 roll-out, reward on 200 validation images \(the whole validation split.*after 5 roll-outs; with 1 it never trains' \
    bash -c 'set -o pipefail; "$0" run --model assets/nets/fmnist_bn.yaml --data synthetic --learner=channel \
    --cp_prune_option=auto --cp_preserve_ratio=0.7 --cp_nb_batches=1 --cp_nb_rlouts=1 \
    --cp_nb_rlouts_min=5 --nb_epochs=0 --nb_smpls_val=200 --rl_nb_smpls_eval=999 --no_run_dir \
    --out "$1" 2>&1 | tr "\n" " "' "$APP" "$T/rl-clamp.h5"
# a search resumed with another budget or reward is refused before anything runs; the same
# options resume it
rm -rf "$T/rl-res"
RA="--model assets/nets/fmnist_bn.yaml --data synthetic --learner=channel --cp_prune_option=auto --cp_nb_batches=1 --cp_nb_rlouts_min=1 --nb_epochs=0 --nb_smpls_val=200 --rl_nb_smpls_eval=100"
expect_ok rl-res-first '"status": "finished"' "$APP" run $RA --cp_preserve_ratio=0.7 --cp_nb_rlouts=2 --runs "$T/rl-res" --out "$T/rl-res.h5" --json
expect_fail rl-resume-budget "budget of 0.7, this run asks for 0.5" "$APP" run $RA --cp_preserve_ratio=0.5 --cp_nb_rlouts=3 --rl_resume="$(ls -d "$T"/rl-res/*/ | head -1)" --no_run_dir --out "$T/rl-res2.h5"
expect_fail rl-resume-reward "reward was '', this run's is 'after 5 Adam steps" "$APP" run $RA --cp_preserve_ratio=0.7 --cp_nb_rlouts=3 --cp_nb_iters_ft_rlout=5 --rl_resume="$(ls -d "$T"/rl-res/*/ | head -1)" --no_run_dir --out "$T/rl-res2.h5"
expect_fail rl-resume-bn "reward was '', this run's is 'after 2 Adam steps at 0.0003, then after batch-norm re-estimation on 3 batches'" "$APP" run $RA --cp_preserve_ratio=0.7 --cp_nb_rlouts=3 --cp_nb_iters_ft_rlout=2 --cp_nb_batches_bn_rlout=3 --rl_resume="$(ls -d "$T"/rl-res/*/ | head -1)" --no_run_dir --out "$T/rl-res2.h5"
expect_fail rl-bn-no-bn "cpr_nb_batches_bn_rlout: convnet-fmnist has no batch-norm layer" "$APP" run --model assets/nets/convnet_fmnist.yaml --data synthetic --learner=chn-pruned-rmt --cpr_prune_option=auto --cpr_nb_batches_bn_rlout=5 --nb_smpls_val=200 --no_run_dir --out "$T/rl-res2.h5"
expect_fail rl-bn-range "cp_nb_batches_bn_rlout" "$APP" run $RA --cp_nb_batches_bn_rlout=-1 --no_run_dir --out "$T/rl-res2.h5"
expect_fail rl-fin-ws "cpr_nb_finalists: every finalist is selected and fine-tuned in turn" "$APP" run --model assets/nets/fmnist_bn.yaml --data synthetic --learner=chn-pruned-rmt --cpr_prune_option=auto --cpr_nb_finalists=2 --cpr_save_path_ws="$T/ws.h5" --nb_smpls_val=200 --no_run_dir --out "$T/rl-res2.h5"
expect_fail rl-fin-range "cp_nb_finalists" "$APP" run $RA --cp_nb_finalists=-1 --no_run_dir --out "$T/rl-res2.h5"
expect_ok rl-fin '"status": "finished"' "$APP" run $RA --cp_preserve_ratio=0.7 --cp_nb_rlouts=2 --cp_nb_finalists=2 --runs "$T/rl-fin" --out "$T/rl-fin.h5" --json
expect_ok rl-fin-plan "layers:" cat "$(ls -d "$T"/rl-fin/*/ | head -1)rl/final.plan.yaml"
# with a fine-tune, the finalists' loss curves follow one another in metrics.csv (and on the
# monitor): three fine-tunes, their steps strictly increasing
expect_ok rl-fin-ft '"status": "finished"' "$APP" run $RA --nb_epochs=1 --nb_epochs_rat=0.02 --cp_preserve_ratio=0.7 --cp_nb_rlouts=2 --cp_nb_finalists=2 --runs "$T/rl-fin-ft" --out "$T/rl-fin-ft.h5" --json
if awk -F, '$2 == "loss" { n++; if (n > 1 && $1 <= last) bad = 1; last = $1 } END { exit !(n >= 3 && !bad) }' \
    "$(ls -d "$T"/rl-fin-ft/*/ | head -1)metrics.csv"; then ok; else bad "rl-fin-ft: the finalists' loss steps restart or are missing"; fi
cp -r "$(ls -d "$T"/rl-fin/*/ | head -1)" "$T/rl-fin-bad"
sed -i '2s/^1,[^,]*,/1,x,/' "$T/rl-fin-bad/rl/rlouts.csv"
expect_fail rl-fin-bad-csv "rlouts.csv:2: column 2 is not a number" "$APP" run $RA --cp_preserve_ratio=0.7 --cp_nb_rlouts=2 --cp_nb_finalists=2 --rl_resume="$T/rl-fin-bad" --no_run_dir --out "$T/rl-res4.h5"
expect_ok rl-resume-same '"status": "finished"' "$APP" run $RA --cp_preserve_ratio=0.7 --cp_nb_rlouts=2 --rl_resume="$(ls -d "$T"/rl-res/*/ | head -1)" --no_run_dir --out "$T/rl-res3.h5" --json
expect_fail cpr-bad-option "cpr_prune_option.*uniform|auto" "$APP" run --model assets/nets/fmnist_bn.yaml --data synthetic --learner=chn-pruned-rmt --cpr_prune_option=list --no_run_dir
expect_fail ddpg-bad-tau "ddpg_tau = 2 is outside" "$APP" run --model "$T/syn.h5" --data synthetic --learner=channel --ddpg_tau=2
expect_fail ddpg-not-rl "ddpg_tau" "$APP" run --model "$T/syn.h5" --data synthetic --learner=full-prec --ddpg_tau=0.1
expect_fail rl-resume-missing "nowhere/rl/state.yaml" "$APP" run --model assets/nets/fmnist_bn.yaml --data synthetic --learner=channel --cp_prune_option=auto --nb_smpls_val=200 --rl_resume="$T/nowhere" --no_run_dir

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
