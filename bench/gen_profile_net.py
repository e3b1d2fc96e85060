#!/usr/bin/env python3
"""gen_profile_net.py: writes a resnet-style netdef of about N layers (default 200) for the
profiler benchmark (bench/profile_speed.c): a stem, then stages of basic blocks (conv, BN+relu,
conv, BN, add+relu, 1x1 projection where the width changes), global average pool and dense.
    python3 bench/gen_profile_net.py [N] > /tmp/resnet200.yaml"""
import sys

target = int(sys.argv[1]) if len(sys.argv) > 1 else 200
rows = ["  - {name: conv1, type: conv2d, filters: 16, kernel: 3, pad: 1, bias: false}",
        "  - {name: bn1, type: batchnorm, act: relu}"]
prev, width, stage, block = "bn1", 16, 0, 0
widths = [16, 32, 64, 128]
while len(rows) + 2 < target:
    stage_w = widths[min(stage, 3)]
    b = f"s{stage}b{block}"
    stride = 2 if block == 0 and stage > 0 else 1
    rows.append(f"  - {{name: {b}_conv1, type: conv2d, inputs: [{prev}], filters: {stage_w}, "
                f"kernel: 3, stride: {stride}, pad: 1, bias: false}}")
    rows.append(f"  - {{name: {b}_bn1, type: batchnorm, act: relu}}")
    rows.append(f"  - {{name: {b}_conv2, type: conv2d, filters: {stage_w}, kernel: 3, pad: 1, "
                f"bias: false}}")
    rows.append(f"  - {{name: {b}_bn2, type: batchnorm}}")
    short = prev
    if stride != 1 or stage_w != width:
        rows.append(f"  - {{name: {b}_proj, type: conv2d, inputs: [{prev}], filters: {stage_w}, "
                    f"kernel: 1, stride: {stride}, bias: false}}")
        rows.append(f"  - {{name: {b}_projbn, type: batchnorm}}")
        short = f"{b}_projbn"
    rows.append(f"  - {{name: {b}_add, type: add, inputs: [{b}_bn2, {short}], act: relu}}")
    prev, width = f"{b}_add", stage_w
    block += 1
    if block == 8:
        stage, block = stage + 1, 0
rows.append(f"  - {{name: gap, type: gap, inputs: [{prev}]}}")
rows.append("  - {name: fc, type: dense, units: 10}")
print(f"# resnet-style benchmark net, {len(rows)} layers (bench/gen_profile_net.py {target})")
print("name: resnet-bench\ninput: [3, 32, 32]\nclasses: 10\nlayers:")
print("\n".join(rows))
