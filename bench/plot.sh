#!/usr/bin/env bash
# Draws bench/results/fanout.png from the CSV written by bench/run.sh
# (vent-bench --csv): deliveries/s, p99 latency and bridge CPU per million
# deliveries for every fanout run, bytes per connection for idle runs; vent-
# bridge and the Node baseline side by side (labels "<scenario>.<target>").
# Needs gnuplot (Debian: apt-get install -y gnuplot-nox).
#
#   bench/plot.sh [CSV] [PNG]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CSV=${1:-$ROOT/bench/results/fanout.csv}
PNG=${2:-${CSV%.csv}.png}
command -v gnuplot >/dev/null || { echo "gnuplot not found (apt-get install -y gnuplot-nox)" >&2; exit 2; }
[[ -f $CSV ]] || { echo "no $CSV: run bench/run.sh first" >&2; exit 2; }
gnuplot <<GP
set datafile separator ','
set terminal pngcairo size 1400,900 noenhanced font ',10'
set output '$PNG'
set multiplot layout 2,2 title 'vent-bench: vent-bridge vs Node ws baseline (same client, same machine)'
set style fill solid 0.6 border -1
set boxwidth 0.6
set xtics rotate by -30 left
set grid ytics
set yrange [0:*]
fan(col) = (stringcolumn(1) eq "fanout") ? column(col) : 1/0
idle(col) = (stringcolumn(1) eq "idle") ? column(col) : 1/0
set title 'deliveries/s (fanout)'
plot '$CSV' every ::1 using 0:(fan(14)):xtic(2) with boxes notitle lc rgb '#4477aa'
set title 'latency p99, ms (fanout, log scale)'
set yrange [*:*]
set logscale y
plot '$CSV' every ::1 using 0:(fan(18)/1000.0):xtic(2) with boxes notitle lc rgb '#cc6677'
unset logscale y
set yrange [0:*]
set title 'server CPU-s per million deliveries (fanout)'
plot '$CSV' every ::1 using 0:(fan(21)):xtic(2) with boxes notitle lc rgb '#228833'
set title 'server memory per idle connection, bytes'
plot '$CSV' every ::1 using 0:(idle(22)):xtic(2) with boxes notitle lc rgb '#aa7744'
unset multiplot
GP
echo "wrote $PNG" >&2
