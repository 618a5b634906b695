#!/usr/bin/env bash
# Issue 44's pruning study (docs/studies/pruning.md): every run of it, one at a time, targets' rows first.
# Resumable: a run with test_eval.json is skipped, one with latest_ckpt.pth resumes, a pruned file that exists is
# kept; start it again after an interruption with the same arguments.
# usage: scripts/pruning_study.sh DATA_DIR OUT_DIR [report]
#   report: instead of training, the study's table from the finished runs: every architecture's latency by the
#   harness (21 rounds, ONNX Runtime FP32 and OpenVINO FP32/INT8 at 256 and 416), then `benchmark.py report` with
#   their test evaluations, into results/pruning/study/ (run it alone on the machine: it times)
#   DATA_DIR: the quick protocol's VOCdevkit (docs/protocol.md); OUT_DIR: the runs and pruned files.
#   env: N (fine-tune epochs, 35: chosen on the pilot's val curve), DEVICE (cpu), WEIGHTS (the teachers' folder,
#   weights/), KEEP (where each finished run's curve, test evaluation and matches are copied, with the pruned
#   files' settings: results/pruning/study/runs).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: scripts/pruning_study.sh DATA_DIR OUT_DIR}
out=${2:?usage: scripts/pruning_study.sh DATA_DIR OUT_DIR}
N=${N:-35}
device=${DEVICE:-cpu}
weights=${WEIGHTS:-weights}
keep=${KEEP:-results/pruning/study/runs}
base=final_k5_nano_lrelu
total=$((55 + N))  # a pruned row counts its weights' 55 epochs (45 SiLU + 10 LeakyReLU)
mkdir -p "$out" "$keep"

prune() {  # prune SEED NAME GFLOPS ROUND_TO -> $out/k5l_s{SEED}_{NAME}.pth
  local file=$out/k5l_s$1_$2.pth
  [[ -f $file ]] && return
  python tools/prune.py -n $base -c "$weights/${base}_s$1.pth" -o "$file" --target-gflops "$3" --round-to "$4" \
    -b 16 --calibration-batches 20 --device "$device" --protocol quick data_dir "$data" data_num_workers 0
  python - "$file" "$keep/k5l_s$1_$2.json" <<'EOF'
import json, sys, torch
checkpoint = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
with open(sys.argv[2], "w") as f:
    json.dump({key: checkpoint[key] for key in ("pruning", "architecture")}, f, indent=1)
EOF
}

run() {  # run EXPN EXP_ARGS... -- OPTS... : train (or resume; the trainer scores the last epoch's EMA weights on
  # test, test_eval.json), keep its records
  local expn=$1 dir=$out/$1; shift
  local exp_args=()
  while [[ $1 != -- ]]; do exp_args+=("$1"); shift; done
  shift
  [[ -f $dir/test_eval.json || -f $keep/$expn/test_eval.json ]] && return
  local start=()
  if [[ -f $dir/latest_ckpt.pth ]]; then start=(--resume -c "$dir/latest_ckpt.pth"); fi
  python tools/train.py "${exp_args[@]}" "${start[@]}" -b 16 --device "$device" --cache --protocol quick \
    -expn "$expn" data_dir "$data" output_dir "$out" data_num_workers 0 "$@"
  mkdir -p "$keep/$expn"
  cp "$dir"/{curve.json,test_eval.json,test_eval.matches.npz,train_stats.json} "$keep/$expn/"
}

pruned() {  # pruned EXPN SEED FILE [teacher]: fine-tune a pruned file N epochs, distilled or not
  local teacher=()
  [[ ${4:-} == teacher ]] && teacher=(teacher_ckpt "$weights/${base}_s$2.pth" distill_weighting student_positives)
  if [[ -f $out/$1/latest_ckpt.pth ]]; then local from=(-n $base); else local from=(-n $base -c "$3"); fi
  run "$1" "${from[@]}" -- seed "$2" max_epoch "$N" warmup_epochs 1 eval_interval 5 "${teacher[@]}"
}

report() {  # one latency row per trained row (its seed 0's weights), the evaluations of every seed under it
  local checkpoints=() evals=(results/quick/yolox_voc_nano_2x_s0/test_eval.json) row expn seed
  for seed in 0 1 2; do  # the unpruned teachers, for reference (55 epochs)
    [[ -f results/quick/${base}_s$seed/test_eval.json ]] && evals+=("results/quick/${base}_s$seed/test_eval.json")
  done
  for row in p50_kd p35_kd p50 p50_scratch thin; do
    case $row in
      p50_kd) expn=k5l_p50_kd ;; p35_kd) expn=k5l_p35_kd ;; p50) expn=k5l_p50 ;; p50_scratch) expn=k5l_p50_scratch ;;
      thin) expn=thin ;;
    esac
    [[ -f $out/${expn}_s0/latest_ckpt.pth ]] && checkpoints+=("$row=$out/${expn}_s0/latest_ckpt.pth")
    for seed in 0 1 2; do
      [[ -f $keep/${expn}_s$seed/test_eval.json ]] && evals+=("$row=$keep/${expn}_s$seed/test_eval.json")
    done
  done
  for seed in 1; do evals+=("$keep/stock_${total}ep_s$seed/test_eval.json"); done
  local study
  study=$(dirname "$keep")
  python tools/benchmark.py latency --exps exps/yolox_voc_nano.py exps/$base.py --checkpoints "${checkpoints[@]}" \
    --sizes 256 416 --runtimes onnx openvino openvino-int8 --rounds 21 --data-dir "$data" --output "$study"
  python tools/benchmark.py report --latency "$study" --evals "${evals[@]}" --output "$study"
}

if [[ ${3:-} == report ]]; then report; exit; fi

stretched=(max_epoch $total warmup_epochs 2 no_aug_epochs 10)  # the quick schedule at 55 + N epochs

for seed in 0 1 2; do
  prune $seed p50 0.5425 16
  pruned k5l_p50_kd_s$seed $seed "$out/k5l_s${seed}_p50.pth" teacher
done
# stock's seed 0 at 90 epochs is the schedule study's run (results/quick/yolox_voc_nano_2x_s0), the same recipe
for seed in 1; do run stock_${total}ep_s$seed -n yolox_voc_nano -- seed $seed "${stretched[@]}"; done
for seed in 0 1 2; do
  prune $seed p35 0.3799 8
  pruned k5l_p35_kd_s$seed $seed "$out/k5l_s${seed}_p35.pth" teacher
done
for seed in 0 1; do pruned k5l_p50_s$seed $seed "$out/k5l_s${seed}_p50.pth"; done
for seed in 0 1; do
  run k5l_p50_scratch_s$seed -n $base -- seed $seed "${stretched[@]}" architecture_from "$out/k5l_s${seed}_p50.pth"
done
for seed in 0 1; do run thin_s$seed -f exps/pruning/thin_nano.py -- seed $seed "${stretched[@]}"; done
