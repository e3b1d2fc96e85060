#!/usr/bin/env bash
# tui_e2e.sh: the workbench end to end, as a new user drives it, in a real terminal (tmux).
# Starts `pocketflow` in a 100x30 pane, reads the screen with capture-pane and checks: the layer
# table of the bundled model with the same totals `pocketflow info` prints; a prune ratio raised
# on one layer changes the totals; a short full-prec run started from the learner form shows
# progress and a chart that moves; resizes to 80x24 and 200x60 during the run; cancel; the runs
# screen lists the run; quit; the terminal is restored (primary screen, echo and canonical mode,
# cursor) and the run directory is written. Also: no terminal -> refusal naming the subcommands;
# Ctrl-C quits cleanly; R opens the RL search prompt (Esc closes it, a bad budget is refused
# with a message) and a short channel search shows its RL screen until cancelled. Every wait is a bounded poll. Prints "N passed, N failed"; exits non-zero
# on any failure; the tmux server (a private socket) is killed on exit.
set -u
APP=${PF_APP:-build/pocketflow}
case $APP in /*) ;; *) APP=$PWD/$APP ;; esac
MODEL=${PF_TUI_MODEL:-assets/models/fmnist_bn.h5}
T=$(mktemp -d)
SOCK=pf-e2e-$$
S=e2e
pass=0
fail=0

tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
cleanup() {
    tm kill-server 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
}
screen() { tm capture-pane -p -t "$S"; }
dump() {
    echo "---- screen ----" >&2
    screen >&2
    echo "----------------" >&2
}

# wait_for NAME ERE SECONDS: polls the screen until it matches (then counts a pass)
wait_for() {
    local name=$1 pat=$2 secs=$3 i
    for ((i = 0; i < secs * 5; i++)); do
        if screen | grep -qE -- "$pat"; then
            ok
            return 0
        fi
        sleep 0.2
    done
    bad "$name: the screen never showed /$pat/ within ${secs}s"
    dump
    return 1
}

# keys KEY...: tmux key names (Enter, Tab, C-u) or single characters
keys() { tm send-keys -t "$S" "$@"; }
# text STRING: typed literally
text() { tm send-keys -t "$S" -l "$1"; }

finish() {
    echo "tui_e2e: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
}

if ! command -v tmux >/dev/null; then
    bad "tmux is not installed (a declared dependency: scripts/deps.sh installs it)"
    finish
fi

# ---- without a terminal: refuse, naming the subcommands to use instead ----
"$APP" </dev/null >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q "pocketflow info" "$T/err"; then ok; else
    bad "no tty: exit $rc, stderr: $(head -c 300 "$T/err")"
fi

# ---- the model: the bundled one, or (not trained yet) a tiny one made here ----
ARGS=""
if [ ! -f "$MODEL" ]; then
    echo "tui_e2e: $MODEL is missing; training a tiny stand-in" >&2
    if ! "$APP" train --net assets/nets/fmnist_bn.yaml --data fmnist --epochs 0.01 --val 500 \
        --out "$T/model.h5" >/dev/null 2>"$T/train.err"; then
        bad "could not train a stand-in model: $(tail -c 300 "$T/train.err")"
        finish
    fi
    MODEL=$T/model.h5
    ARGS="tui $MODEL"
fi
INFO=$("$APP" info "$MODEL" --json 2>"$T/info.err" | grep -oE '"totals": *\{[^}]*\}')
field() { echo "$INFO" | grep -oE "\"$1\": *[0-9]+" | grep -oE '[0-9]+$'; }
MACS=$(field macs)
PARAMS=$(field params)
BYTES=$(field bytes)
if [ -z "$MACS" ] || [ -z "$PARAMS" ]; then
    bad "pocketflow info --json gave no totals: $(head -c 300 "$T/info.err")"
    finish
fi

# ---- a shell in a 100x30 pane ----
mkdir -p "$T/runs"
tm new-session -d -s "$S" -x 100 -y 30 -c "$PWD" \
    "env PS1='$ ' LANG=C.UTF-8 LC_ALL=C.UTF-8 PF_RUNS_DIR='$T/runs' bash --norc --noprofile"
tm set-option -t "$S" -g window-size manual 2>/dev/null
keys "echo BEFORE-THE-WORKBENCH" Enter
wait_for "shell" "^BEFORE-THE-WORKBENCH" 10 || finish

# ---- 1. the layer table with info's totals ----
keys "$APP $ARGS 2>$T/app.err; echo rc=\$?" Enter
wait_for "model screen" "conv5 +conv2d" 30 || finish
wait_for "layer table" " fc +dense " 5
wait_for "MACs as info prints them" "MACs +$MACS -> $MACS " 5
wait_for "params as info prints them" "params $PARAMS -> $PARAMS " 5
[ -n "$BYTES" ] && wait_for "bytes as info prints them" "bytes $BYTES -> $BYTES " 5
wait_for "legend" "j/k move.*q quit" 5

# ---- 2. raise conv2's prune ratio: the totals change ----
keys j j +
wait_for "conv2 prune ratio" "conv2 .* 0\.05 " 10
line=$(screen | grep -oE "MACs +[0-9]+ -> [0-9]+" | head -1)
after=${line##* }
if [ -n "$after" ] && [ "$after" -lt "$MACS" ]; then ok; else
    bad "MACs after pruning conv2: '$line' (expected below $MACS)"
    dump
fi
if screen | grep -qE "params $PARAMS -> [0-9]+" && ! screen | grep -qE "params $PARAMS -> $PARAMS "; then
    ok
else
    bad "params did not change"
fi
# 30 of conv1's 32 channels is not whole 16-channel blocks: a warning; b rounds and back
wait_for "the edit warns of a count between blocks" "conv2 keeps 30 of 32 inputs, which run like 32" 5
keys b
wait_for "b: whole blocks" "round_to 16: whole 16-channel blocks, MACs" 5
keys b
wait_for "b again: exact counts" "round_to 1: exact counts, MACs .*; 1 group between blocks" 5

# ---- 3. a short fine-tuning run from the learner form ----
keys 2
wait_for "learner screen" "nb_epochs_rat" 10
keys Tab /
text nb_epochs_rat
keys Enter Enter C-u
text 0.05
keys Enter
wait_for "nb_epochs_rat set" "\* nb_epochs_rat +0\.05 " 5
keys /
text summ_step
keys Enter Enter C-u
text 2
keys Enter
wait_for "summ_step set" "\* summ_step +2 " 5
keys r
wait_for "run started" "run 1: full-prec running" 60 || finish
wait_for "first metrics" "loss [0-9]" 120 || finish
pct() { screen | grep -oE '\] +[0-9.]+%' | head -1 | grep -oE '[0-9.]+'; }
chart() { screen | sed -n '5,20p'; }
p1=$(pct)
c1=$(chart)
moved=0
for ((i = 0; i < 600; i++)); do
    p2=$(pct)
    c2=$(chart)
    if [ "$c2" != "$c1" ] && [ -n "$p2" ] && awk "BEGIN{exit !($p2 > $p1)}"; then
        moved=1
        break
    fi
    sleep 0.2
done
if [ $moved -eq 1 ]; then ok; else
    bad "progress ($p1% -> ${p2:-?}%) or the chart did not move in 120s"
    dump
fi
if screen | grep -q "┌─ loss"; then ok; else bad "no loss chart"; fi

# ---- 4. resize during the run ----
tm resize-window -t "$S" -x 80 -y 24
wait_for "80x24 redraw" "^ c cancel +b back" 10
n=$(screen | wc -l)
[ "$n" -eq 24 ] && ok || bad "80x24: captured $n lines"
tm resize-window -t "$S" -x 200 -y 60
wait_for "200x60 redraw (three charts)" "┌─ lr " 10
tm resize-window -t "$S" -x 100 -y 30
wait_for "100x30 again" "^ c cancel .*q quit$" 10
wait_for "still running after resizes" "run 1: full-prec running" 5

# ---- 5. cancel ----
keys c
wait_for "cancelled" "run 1: full-prec cancelled" 300

# ---- 6. the runs screen ----
keys 4
RUN=$(ls "$T/runs" | head -1)
wait_for "runs screen lists the run" "$RUN +full-prec +cancelled" 10

# ---- 7. quit: terminal restored, run directory written ----
keys q
wait_for "exit status 0" "^rc=0$" 60
alt=$(tm display-message -p -t "$S" '#{alternate_on}')
[ "$alt" = "0" ] && ok || bad "still on the alternate screen after quitting"
cur=$(tm display-message -p -t "$S" '#{cursor_flag}')
[ "$cur" = "1" ] && ok || bad "cursor still hidden after quitting"
wait_for "primary screen back" "^BEFORE-THE-WORKBENCH" 5
keys "stty -a | tr ' ;' '\n\n' | grep -xE -- '-?(echo|icanon)' | tr '\n' ' ' | sed 's/^/STTY: /'; echo" Enter
wait_for "stty printed" "^STTY: " 5
st=$(screen | grep -E "^STTY: " | tail -1)
if echo "$st" | grep -qw -- "icanon" && echo "$st" | grep -qw -- "echo" &&
    ! echo "$st" | grep -q -- "-icanon" && ! echo "$st" | grep -q -- "-echo"; then ok; else
    bad "terminal modes not restored: $st"
fi
D=$T/runs/$RUN
[ -n "$RUN" ] && grep -q "status: cancelled" "$D/manifest.yaml" 2>/dev/null && ok ||
    bad "manifest.yaml of $RUN does not say cancelled"
[ "$(wc -l <"$D/metrics.csv" 2>/dev/null || echo 0)" -gt 5 ] && ok || bad "metrics.csv is nearly empty"
[ -s "$D/model.h5" ] && ok || bad "no model.h5 in the run directory"
[ -s "$D/log.txt" ] && ok || bad "no log.txt in the run directory"
if grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$T/app.err"; then
    bad "sanitizer report: $(grep -m3 -E 'Sanitizer|runtime error' "$T/app.err")"
else
    ok
fi

# ---- 8. Ctrl-C quits cleanly too ----
keys "clear; $APP $ARGS 2>>$T/app.err; echo rc2=\$?" Enter
wait_for "started again" "conv5 +conv2d" 30
keys C-c
wait_for "Ctrl-C exit" "^rc2=0$" 30
alt=$(tm display-message -p -t "$S" '#{alternate_on}')
[ "$alt" = "0" ] && ok || bad "Ctrl-C left the alternate screen on"

# ---- 9. R: the RL search prompt; Esc, a refused budget, then a short search ----
keys "clear; $APP $ARGS 2>>$T/app.err; echo rc3=\$?" Enter
wait_for "started for R" "conv5 +conv2d" 30
keys R
wait_for "R prompt" "RL search: <kind> \[budget\] \[roll-outs\] \[finalists" 10
wait_for "R prompt's default" "channel 0\.5 20" 5
keys Escape
sleep 0.3
if screen | grep -q "RL search: <kind>"; then bad "Esc left the R prompt open"; else ok; fi
keys m
wait_for "responsive after Esc (m: FLOPs)" "^FLOPs +[0-9]+ -> " 5
keys m
wait_for "m again: MACs" "^MACs +[0-9]+ -> " 5
keys R C-u
text "channel 1.5"
keys Enter
wait_for "a bad budget is refused with a message" "kept MACs 1\.5 is outside \(0, 1\)" 5
wait_for "the prompt stays for a correction" "RL search: <kind>" 2
keys C-u
text "channel 0.5 2"
keys Enter
wait_for "RL screen" "RL search of preserve ratio: run 1 \(channel\)" 30
wait_for "the search's budget gauge" "^kept MACs \[" 180
wait_for "the layer table" " layer .* uniform +best" 5
keys c
wait_for "search stopped" "run 1 \(channel\) (cancelled|finished|failed)" 300
keys q
wait_for "q goes back to the model" "conv5 +conv2d" 10
keys q
wait_for "exit after the search" "^rc3=0$" 60
if grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$T/app.err"; then
    bad "sanitizer report: $(grep -m3 -E 'Sanitizer|runtime error' "$T/app.err")"
else
    ok
fi

finish
