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
# the recipes: SGD momentum 0.9, batch 128, weight decay 3e-4, cosine decay to 0, seed 0;
# no augmentation: at 5-10 epochs it costs accuracy (resnet20 with it, piecewise: 0.8971)
run "$APP" train --net assets/nets/convnet_fmnist.yaml --data fmnist --epochs 10 --lr 0.05 \
    --schedule cosine --no_augment --out runs/bench/convnet.h5
run "$APP" train --net assets/nets/lenet5_fmnist.yaml --data fmnist --epochs 5 --lr 0.1 \
    --schedule cosine --no_augment --out runs/bench/lenet5.h5
run "$APP" train --net assets/nets/resnet20_fmnist.yaml --data fmnist --epochs 5 --lr 0.1 --no_augment \
    --schedule cosine --out runs/bench/resnet20.h5
