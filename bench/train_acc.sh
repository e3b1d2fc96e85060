#!/usr/bin/env bash
# train_acc.sh: the training-accuracy benchmark of the engine issue (too slow for CI).
# Trains each net with the stated recipe on Fashion-MNIST and prints its test accuracy.
#   bench/train_acc.sh [THREADS]
set -eu
cd "$(dirname "$0")/.."
T=${1:-2}
APP=build/pocketflow
[ -x "$APP" ] || make -s all
mkdir -p runs/bench
run() {
    echo "+ $*" >&2
    "$@" --threads "$T" --json
}
run "$APP" train --net assets/nets/convnet_fmnist.yaml --data fmnist --epochs 10 --lr 0.05 --out runs/bench/convnet.h5
run "$APP" train --net assets/nets/lenet5_fmnist.yaml --data fmnist --epochs 5 --out runs/bench/lenet5.h5
run "$APP" train --net assets/nets/resnet20_fmnist.yaml --data fmnist --epochs 5 --out runs/bench/resnet20.h5
