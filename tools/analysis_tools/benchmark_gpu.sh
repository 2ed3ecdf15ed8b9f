#!/usr/bin/env bash
# The GPU figures of the READMEs in one run, on one CUDA device:
#
#   bash tools/analysis_tools/benchmark_gpu.sh OUT_DIR [PART...]
#
# PART (default: all, in this order). On an H200 (2026-11-26) `amp profile
# tests` took 4 min 20 s (amp 1 min 40 s, profile 48 s, tests 1 min 49 s)
# and `predict` with five single-run variants 7 min; its three variants of
# 5 runs each should take about 5 min. The offline bundle's set-up takes
# 2-2.5 minutes: a 10-minute command holds it and one or two parts.
#   predict   batched blend vs MMSeg slide on a 6000 x 6000 x 5 raster
#             (issue 9's 5x target), the median of 5 runs each: fp32, fp32
#             with batch norms folded (both methods), and folded under
#             AMP in channels-last; blend at batch 32 (folded); and
#             prediction from files
#   amp       FCN, LANet, DANet and the D8 models: training throughput,
#             fp32 and AMP, and batch-1 latency (issue 10's targets); then
#             FCN and LANet with the head following autocast under AMP
#   profile   batch-1 latency of each ablation row (FCN, + PAM, + low-level
#             features, + 2 PAM, + AEM, LANet), and torch.profiler tables:
#             AMP training step and batch-1 latency call of FCN and LANet
#   compile   FCN and LANet training throughput, fp32 and AMP, with the
#             step's forward and loss through torch.compile (mmengine's
#             compile=True); the warm-up pays four compilations
#   zoo       every Potsdam comparison config at 512 x 512 (no large tiles)
#   tests     pytest -m gpu (train, test, --amp, dist_train.sh over NCCL,
#             predict on CUDA against the CPU)
#
# Each part writes its log (and JSON) under OUT_DIR and has its own time
# limit, so one slow part cannot take the others' time.
set -o pipefail
OUT=${1:?usage: benchmark_gpu.sh OUT_DIR [PART...]}
shift
PARTS=${*:-predict amp profile compile zoo tests}
for part in $PARTS; do
  case $part in
  predict | amp | profile | compile | zoo | tests) ;;
  *)
    echo "unknown part: $part (predict, amp, profile, compile, zoo," \
      "tests)" >&2
    exit 2
    ;;
  esac
done
# Logs go under OUT as the caller named it, from the repo root below.
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
cd "$(dirname "$0")/../.."
if ! python -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'
then
  echo "benchmark_gpu.sh needs a CUDA device: torch" \
    "$(python -c 'import torch; print(torch.__version__)') sees none" >&2
  exit 2
fi
mkdir -p "$OUT"
L=configs/lanet
C=configs/compare
P=_1xb8-80k_potsdam-rgbir-dsm-512x512.py
FCN=$L/fcn_r50-d32$P
LANET=$L/lanet_r50-d32$P
DANET=$C/danet_r50-d32$P
PSP_D8=$C/pspnet_r50-d8$P
DLV3_D8=$C/deeplabv3plus_r50-d8$P
quiet() { grep -v -E 'Warning|warnings.warn|deprecated'; }
stamp() { echo "== $1 $(date -u +%H:%M:%S)" | tee -a "$OUT/times.txt"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv \
  >"$OUT/gpu.txt" 2>&1
python -c 'import torch; print(torch.__version__, torch.version.cuda)' \
  >>"$OUT/gpu.txt"

for part in $PARTS; do
  stamp "$part"
  case $part in
  predict)
    # fp32 as MMSeg tests by default; AMP runs slide under autocast too.
    # Slide is bound by launching operators and its time follows the
    # host's load (1.27-2.13 s in single runs): the median of 5 runs.
    for variant in fp32 bn_folded bn_folded_amp; do
      case $variant in
      fp32) flags= ;;
      bn_folded) flags=--fuse-conv-bn ;;
      bn_folded_amp) flags="--channels-last --amp --fuse-conv-bn" ;;
      esac
      timeout 120 python tools/analysis_tools/benchmark_predict.py \
        --device cuda --sizes 6000 --methods slide blend --model r50 \
        --batch-size 16 --repeats 5 --work-dir /tmp/benchmark_predict \
        $flags --json "$OUT/bench_predict_$variant.json" 2>&1 | quiet |
        tee "$OUT/bench_predict_$variant.log"
    done
    # Blend's batch size beside the 16 above (batch 8 took 0.42 s against
    # 0.26-0.30 s), batch norms folded.
    timeout 60 python tools/analysis_tools/benchmark_predict.py \
      --device cuda --sizes 6000 --methods blend --model r50 \
      --batch-size 32 --repeats 5 --fuse-conv-bn \
      --work-dir /tmp/benchmark_predict \
      --json "$OUT/bench_predict_blend_b32.json" 2>&1 | quiet |
      tee "$OUT/bench_predict_blend_b32.log"
    timeout 60 python tools/analysis_tools/benchmark_predict.py \
      --device cuda --sizes 6000 --methods predict --model r50 \
      --batch-size 16 --work-dir /tmp/benchmark_predict \
      --json "$OUT/bench_predict_files.json" 2>&1 | quiet |
      tee "$OUT/bench_predict_files.log"
    ;;
  amp)
    # The issue's same-run comparison: LANet against FCN, DANet and the D8
    # models (the head in float32 under AMP, the default), then LANet and
    # FCN with the head following autocast.
    timeout 150 python tools/analysis_tools/benchmark_models.py \
      --device cuda --tile-sizes --reps 20 "$FCN" "$LANET" "$DANET" \
      "$PSP_D8" "$DLV3_D8" --out "$OUT/bench_amp.json" 2>&1 | quiet |
      tee "$OUT/bench_amp.log"
    timeout 90 python tools/analysis_tools/benchmark_models.py \
      --device cuda --tile-sizes --reps 20 "$FCN" "$LANET" \
      --cfg-options model.decode_head.float32_under_amp=False \
      --out "$OUT/bench_amp_head_autocast.json" 2>&1 | quiet |
      tee "$OUT/bench_amp_head_autocast.log"
    ;;
  compile)
    timeout 420 python tools/analysis_tools/benchmark_models.py \
      --device cuda --tile-sizes --reps 20 --compile "$FCN" "$LANET" \
      --out "$OUT/bench_compile.json" 2>&1 | quiet |
      tee "$OUT/bench_compile.log"
    ;;
  zoo)
    timeout 300 python tools/analysis_tools/benchmark_models.py \
      --device cuda --tile-sizes --out "$OUT/bench_zoo.json" 2>&1 | quiet |
      tee "$OUT/bench_zoo.log"
    ;;
  profile)
    # Batch-1 latency of each ablation row: which module adds it.
    timeout 90 python tools/analysis_tools/benchmark_models.py \
      --device cuda --train-batch 0 --tile-sizes --reps 50 "$FCN" \
      $L/fcn-pam_r50-d32$P $L/fcn-lowfeat_r50-d32$P \
      $L/fcn-lowfeat-2pam_r50-d32$P $L/fcn-lowfeat-aem_r50-d32$P \
      "$LANET" 2>&1 | quiet | tee "$OUT/latency_ablation.log"
    timeout 60 python tools/analysis_tools/benchmark_models.py \
      --device cuda --profile train "$FCN" "$LANET" 2>&1 | quiet |
      tail -80 >"$OUT/profile_amp.log"
    timeout 60 python tools/analysis_tools/benchmark_models.py \
      --device cuda --profile inference "$FCN" "$LANET" "$DANET" 2>&1 |
      quiet | tail -120 >"$OUT/profile_latency.log"
    grep -h 'aten calls' "$OUT"/profile_*.log
    ;;
  tests)
    timeout 240 python -m pytest tests/test_tools/test_gpu.py -m gpu -q \
      -p no:cacheprovider -rA 2>&1 | tail -40 | tee "$OUT/gpu_tests.log"
    ;;
  esac
done
stamp done
