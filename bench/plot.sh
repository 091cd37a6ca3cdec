#!/usr/bin/env bash
# Draws the benchmark charts with gnuplot from the CSVs bench/run.sh writes;
# vent-bridge and the Node baseline side by side. Needs gnuplot (Debian:
# apt-get install -y gnuplot-nox).
#
#   bench/plot.sh [--dir DIR]   every chart whose CSV is in DIR (default
#                               bench/results):
#     fanout.csv        -> fanout.png: bar chart of the fixed scenarios of
#                          bench/run.sh (deliveries/s, p99, CPU, bytes/conn)
#     sweep-latency.csv -> sweep-latency.png: p50/p99/p999 latency and
#                          delivered/s against offered deliveries/s
#                       -> sweep-cpu.png: server CPU-s per million deliveries
#                          against offered deliveries/s
#     sweep-idle.csv    -> sweep-memory.png: bytes per connection and RSS
#                          against idle connections
#   bench/plot.sh CSV [PNG]     only the bar chart of one run.sh CSV
# (sweep-*.csv come from bench/run.sh --sweep, see bench/sweep.sh.)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$ROOT/bench/results
BAR_CSV=
BAR_PNG=
case "${1:-}" in
  --dir) DIR=${2:?--dir needs a directory} ;;
  -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) BAR_CSV=$1; BAR_PNG=${2:-${1%.csv}.png} ;;
esac
command -v gnuplot >/dev/null || { echo "gnuplot not found (apt-get install -y gnuplot-nox)" >&2; exit 2; }
TMP=$(mktemp -d /tmp/vent-plot.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# plot_bars CSV PNG: the fixed scenarios (labels "<scenario>.<target>").
plot_bars() {
  local csv=$1 png=$2
  gnuplot <<GP
set datafile separator ','
set terminal pngcairo size 1400,900 noenhanced font ',10'
set output '$png'
set multiplot layout 2,2 title 'vent-bench: vent-bridge vs Node ws baseline (same client, same machine)'
set style fill solid 0.6 border -1
set boxwidth 0.6
set xtics rotate by -30 left
set grid ytics
set yrange [0:*]
fan(col) = (stringcolumn(1) eq "fanout") ? column(col) : 1/0
idle(col) = (stringcolumn(1) eq "idle") ? column(col) : 1/0
set title 'deliveries/s (fanout)'
plot '$csv' every ::1 using 0:(fan(14)):xtic(2) with boxes notitle lc rgb '#4477aa'
set title 'latency p99, ms (fanout, log scale)'
set yrange [*:*]
set logscale y
plot '$csv' every ::1 using 0:(fan(18)/1000.0):xtic(2) with boxes notitle lc rgb '#cc6677'
unset logscale y
set yrange [0:*]
set title 'server CPU-s per million deliveries (fanout)'
plot '$csv' every ::1 using 0:(fan(21)):xtic(2) with boxes notitle lc rgb '#228833'
set title 'server memory per idle connection, bytes'
plot '$csv' every ::1 using 0:(idle(22)):xtic(2) with boxes notitle lc rgb '#aa7744'
unset multiplot
GP
  echo "wrote $png" >&2
}

# split CSV NAME: header + the rows of each target into $TMP/NAME.<target>.csv
# (gnuplot then addresses columns by their header names).
split() {
  local t
  for t in bridge node; do awk -F, -v t="$t" 'NR == 1 || $1 == t' "$1" >"$TMP/$2.$t.csv"; done
}

# Common style: vent-bridge blue, Node baseline red; log x in deliveries/s.
STYLE="
set datafile separator ','
set terminal pngcairo size 1500,650 enhanced font ',11'
set grid xtics ytics mxtics mytics lc rgb '#b0b0b0' lw 1 dt 1, lc rgb '#e0e0e0' lw 1 dt 1
set key top left box opaque
set style line 1 lc rgb '#3366aa' lw 2 pt 7 ps 1.1 dt 1
set style line 2 lc rgb '#3366aa' lw 2 pt 5 ps 1.1 dt 2
set style line 3 lc rgb '#3366aa' lw 2 pt 9 ps 1.3 dt 3
set style line 4 lc rgb '#cc3333' lw 2 pt 6 ps 1.1 dt 1
set style line 5 lc rgb '#cc3333' lw 2 pt 4 ps 1.1 dt 2
set style line 6 lc rgb '#cc3333' lw 2 pt 8 ps 1.3 dt 3
set style line 9 lc rgb '#000000' lw 1.5 pt 6 ps 3
sat(c) = column('saturated') > 0 ? column(c) : 1/0
"

plot_latency() {
  local d=$1 b=$TMP/lat.bridge.csv n=$TMP/lat.node.csv
  split "$d/sweep-latency.csv" lat
  gnuplot <<GP
$STYLE
set output '$d/sweep-latency.png'
set multiplot layout 1,2 title "Fan-out latency vs offered load: 1 channel x 1,000 subscribers, 200-byte events (vent-bridge vs Node ws baseline)\nEach line ends at the first saturated point (circled: events lost, < 90% delivered, or p99 > 1 s)" font ',12'
set logscale xy
set format x '%.0s%c'
set format y '10^{%T}'
set xlabel 'offered deliveries/s (events/s x 1,000 subscribers)'
set ylabel 'latency, ms (publish to receive; log scale)'
set title 'latency percentiles'
set key bottom right box opaque
plot '$b' using 'offered_deliveries_per_s':'p50_ms' with linespoints ls 1 title 'vent-bridge p50', \
     '$b' using 'offered_deliveries_per_s':'p99_ms' with linespoints ls 2 title 'vent-bridge p99', \
     '$b' using 'offered_deliveries_per_s':'p999_ms' with linespoints ls 3 title 'vent-bridge p99.9', \
     '$n' using 'offered_deliveries_per_s':'p50_ms' with linespoints ls 4 title 'Node baseline p50', \
     '$n' using 'offered_deliveries_per_s':'p99_ms' with linespoints ls 5 title 'Node baseline p99', \
     '$n' using 'offered_deliveries_per_s':'p999_ms' with linespoints ls 6 title 'Node baseline p99.9', \
     '$b' using 'offered_deliveries_per_s':(sat('p999_ms')) with points ls 9 notitle, \
     '$n' using 'offered_deliveries_per_s':(sat('p999_ms')) with points ls 9 title 'saturated'
set title 'throughput'
set key top left box opaque
set format y '%.0s%c'
set ylabel 'delivered/s (log scale)'
plot x with lines lc rgb '#999999' dt 2 title 'delivered = offered', \
     '$b' using 'offered_deliveries_per_s':'delivered_per_s' with linespoints ls 1 title 'vent-bridge', \
     '$n' using 'offered_deliveries_per_s':'delivered_per_s' with linespoints ls 4 title 'Node baseline', \
     '$b' using 'offered_deliveries_per_s':(sat('delivered_per_s')) with points ls 9 notitle, \
     '$n' using 'offered_deliveries_per_s':(sat('delivered_per_s')) with points ls 9 title 'saturated'
unset multiplot
GP
  echo "wrote $d/sweep-latency.png" >&2

  gnuplot <<GP
$STYLE
set terminal pngcairo size 1000,650 enhanced font ',11'
set output '$d/sweep-cpu.png'
set title "Server CPU per delivery vs offered load: 1 channel x 1,000 subscribers, 200-byte events\n(utime+stime of the server process over publish + drain, / deliveries; circled: saturated)" font ',12'
set logscale x
set format x '%.0s%c'
set xlabel 'offered deliveries/s (events/s x 1,000 subscribers)'
set ylabel 'server CPU-seconds per million deliveries'
set yrange [0:*]
set offsets 0, 0, graph 0.3, 0
set key top right box opaque
plot 1 with lines lc rgb '#999999' dt 2 title 'Issue 6 budget: 1 CPU-s per million', \
     '$b' using 'offered_deliveries_per_s':'server_cpu_s_per_million' with linespoints ls 1 title 'vent-bridge', \
     '$n' using 'offered_deliveries_per_s':'server_cpu_s_per_million' with linespoints ls 4 title 'Node baseline', \
     '$b' using 'offered_deliveries_per_s':(sat('server_cpu_s_per_million')) with points ls 9 notitle, \
     '$n' using 'offered_deliveries_per_s':(sat('server_cpu_s_per_million')) with points ls 9 title 'saturated'
GP
  echo "wrote $d/sweep-cpu.png" >&2
}

plot_memory() {
  local d=$1 b=$TMP/idle.bridge.csv n=$TMP/idle.node.csv
  split "$d/sweep-idle.csv" idle
  gnuplot <<GP
$STYLE
set output '$d/sweep-memory.png'
set multiplot layout 1,2 title "Memory vs idle subscribed connections (each on its own channel; fresh server process per point)" font ',12'
set xlabel 'idle subscribed connections'
set format x '%.0s%c'
set yrange [0:*]
set xrange [0:*]
set title 'server memory per connection (RSS growth / connections)'
set offsets 0, 0, graph 0.1, 0
set key top right box opaque
set ylabel 'bytes per connection'
plot 4096 with lines lc rgb '#999999' dt 2 title 'Issue 6 budget: 4 KiB', \
     '$b' using 'connections':'bytes_per_connection' with linespoints ls 1 title 'vent-bridge', \
     '$n' using 'connections':'bytes_per_connection' with linespoints ls 4 title 'Node baseline'
set title 'server RSS with the connections open'
set key top left box opaque
set ylabel 'RSS, MiB'
plot '$b' using 'connections':'rss_after_mib' with linespoints ls 1 title 'vent-bridge', \
     '$n' using 'connections':'rss_after_mib' with linespoints ls 4 title 'Node baseline'
unset multiplot
GP
  echo "wrote $d/sweep-memory.png" >&2
}

if [[ -n $BAR_CSV ]]; then
  [[ -f $BAR_CSV ]] || { echo "no $BAR_CSV: run bench/run.sh first" >&2; exit 2; }
  plot_bars "$BAR_CSV" "$BAR_PNG"
  exit 0
fi
drew=0
[[ -f $DIR/fanout.csv ]] && { plot_bars "$DIR/fanout.csv" "$DIR/fanout.png"; drew=1; }
[[ -f $DIR/sweep-latency.csv ]] && { plot_latency "$DIR"; drew=1; }
[[ -f $DIR/sweep-idle.csv ]] && { plot_memory "$DIR"; drew=1; }
((drew)) || { echo "no fanout.csv or sweep-*.csv in $DIR: run bench/run.sh [--sweep] first" >&2; exit 2; }
