#!/usr/bin/env bash
# Third quiet window: the 1D-CNN-LSTM with 3 warm-up steps, 2 and 1 threads.
PG=$(ps -o pgid= -p $(pgrep -f "bash results/paper-8corpora/run.sh" | head -1) | tr -d ' ')
resume() { kill -CONT -- -$PG; echo "resumed $(date -u +%FT%TZ)" >> /work/run-logs/pauses.log; }
trap resume EXIT
kill -STOP -- -$PG; echo "paused $(date -u +%FT%TZ) pgid $PG" >> /work/run-logs/pauses.log
sleep 20
cd /work/numser-lead && export PYTHONPATH=/work/numser-lead
Q=/work/run-logs/quiet3; mkdir -p $Q
{ date -u; git log --oneline -1; uptime; } > $Q/0_info.txt
E="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE"
$E python benchmarks/bench_1d_cnn_lstm.py --tree /work/numser-2c86562 --tree . --rounds 3 --warmup 3 > $Q/1_1d_2threads.txt 2>&1
$E python benchmarks/bench_1d_cnn_lstm.py --tree /work/numser-2c86562 --tree . --rounds 3 --warmup 3 --threads 1 > $Q/2_1d_1thread.txt 2>&1
uptime >> $Q/0_info.txt
