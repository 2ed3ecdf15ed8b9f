#!/usr/bin/env bash
# Maps of many rasters by several processes, each on its share of the
# inputs (by pixels) and its own GPU, or the CPU:
#   tools/dist_predict.sh CONFIG CHECKPOINT NPROC INPUT... --out-dir DIR [ARGS]
#   tools/dist_predict.sh MODEL.onnx NPROC INPUT... --out-dir DIR [ARGS]
# (tools/predict.py's arguments). NNODES, NODE_RANK, PORT and MASTER_ADDR
# configure multi-node runs, as for dist_train.sh (on one node PORT defaults
# to a free port); OMP_NUM_THREADS, if unset, shares the cores out among the
# processes.
#
# A prediction keeps no state that a restarted process could resume, so it
# needs no elastic agent: this script starts the processes itself, with the
# variables torchrun gives them (torchrun's agent costs about 2 s before the
# first process starts, as much as predicting a dozen sample tiles). When
# one process fails it stops the others (SIGTERM; they drop their unfinished
# maps) and exits with that process's status; Ctrl-C and SIGTERM are passed
# on the same way.
set -uo pipefail
usage="usage: $0 (CONFIG CHECKPOINT | MODEL.onnx) NPROC INPUT... --out-dir DIR [ARGS]"
if [[ ${1:-} == *.onnx ]]; then
    MODEL=("$1")
else
    MODEL=("${@:1:2}")
fi
shift "${#MODEL[@]}"
if [ $# -lt 2 ]; then
    echo "$usage" >&2
    exit 2
fi
NPROC=$1
shift
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
for var in NPROC NNODES NODE_RANK; do
    if ! [[ ${!var} =~ ^[0-9]+$ ]] || { [ "$var" != NODE_RANK ] &&
            [ "${!var}" -eq 0 ]; }; then
        echo "$0: $var must be a whole number (NPROC and NNODES at least" \
             "1), got '${!var}'" >&2
        exit 2
    fi
done
if [ "$NODE_RANK" -ge "$NNODES" ]; then
    echo "$0: NODE_RANK $NODE_RANK is not below NNODES $NNODES" >&2
    exit 2
fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

export PYTHONPATH="$ROOT:${PYTHONPATH:-}"
export MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
if [ -z "${PORT:-}${MASTER_PORT:-}" ] && [ "$NNODES" -eq 1 ]; then
    # One node: a free port, so that two launchers side by side never meet
    # in one rendezvous (the nodes of a multi-node run agree on PORT).
    PORT=$(python -c 'import socket; s = socket.socket(); s.bind(("", 0))
print(s.getsockname()[1])')
fi
export MASTER_PORT=${PORT:-${MASTER_PORT:-29500}}
export WORLD_SIZE=$((NNODES * NPROC)) LOCAL_WORLD_SIZE=$NPROC
if [ -z "${OMP_NUM_THREADS:-}" ]; then
    threads=$(($(nproc) / NPROC))
    export OMP_NUM_THREADS=$((threads > 0 ? threads : 1))
fi

running=()
stopping=0
stop_others() {
    [ ${#running[@]} -gt 0 ] && kill -TERM "${running[@]}" 2>/dev/null
    return 0
}
trap 'stopping=1; stop_others' INT TERM

for ((i = 0; i < NPROC; i++)); do
    RANK=$((NODE_RANK * NPROC + i)) LOCAL_RANK=$i \
        python -u "$ROOT/tools/predict.py" "${MODEL[@]}" "$@" \
        --launcher pytorch &
    running+=("$!")
    ranks[$!]=$((NODE_RANK * NPROC + i))
done

status=0
while [ ${#running[@]} -gt 0 ]; do
    unset finished
    # (bash's own "Killed" notice, with the whole command line, is left
    # out: the line below names the rank.)
    wait -n -p finished "${running[@]}" 2>/dev/null
    code=$?
    [ -z "${finished:-}" ] && continue  # a signal, handled by the trap
    left=()
    for pid in "${running[@]}"; do
        [ "$pid" != "$finished" ] && left+=("$pid")
    done
    running=("${left[@]+"${left[@]}"}")
    if [ "$code" -ne 0 ] && [ "$status" -eq 0 ]; then
        status=$code
        # All processes end together after their last exchange, with 1 when
        # a raster failed: a moment's grace before calling an exit of
        # Python's own a crash. A signal's (128 + n) never is.
        for ((t = 0; t < 20 && code <= 128; t++)); do
            [ -z "$(jobs -pr)" ] && break
            sleep 0.1
        done
        said="$0: rank ${ranks[$finished]} (pid $finished) exited with status $code"
        if [ "$stopping" -eq 0 ] && [ -n "$(jobs -pr)" ]; then
            echo "$said; stopping the other processes" >&2
            stop_others
        elif [ "$code" -ne 1 ]; then  # 1: a raster failed, or Python did
            echo "$said" >&2
        fi
    fi
done
exit "$status"
