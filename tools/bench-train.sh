#!/usr/bin/env bash
# `jseek bench train` with the PyTorch eager peer (DJL PyTorch engine, libtorch CPU from the pytorch-native-cpu jar,
# loaded offline). The peer lives in src/test/java (dev.jseek.bench.DjlTrainStepPeer) and DJL is a test-scope
# dependency, so this script runs the CLI on the TEST class path; ./jseek (runtime class path) has no peer.
#   tools/bench-train.sh [bench train options]      e.g. tools/bench-train.sh --presets tiny,small -b 4 -t 128
# JSEEK_THREADS sets both jseek's pool (jseek.threads) and PyTorch's intra-op threads (default: all processors).
# JSEEK_JAVA_OPTS adds JVM options. The first run needs Maven Central once (mvn without -o) to fetch DJL.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/tools/find-jdk.sh"
jseek_find_jdk
export JAVA_HOME="$JSEEK_JAVA_HOME"
cd "$root"
cp_file="$root/target/test-classpath.txt"
offline="-o"
[ -f "$HOME/.m2/repository/ai/djl/pytorch/pytorch-native-cpu/2.7.1/pytorch-native-cpu-2.7.1-linux-x86_64.jar" ] || offline=""
mvn -B -q $offline test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >&2
threads="${JSEEK_THREADS:-$(nproc)}"
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  -XX:+UseParallelGC -Xss8m -Xmx8g ${JSEEK_JAVA_OPTS:-} \
  -Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0 -Dai.djl.offline=true -Djseek.threads="$threads" \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "$root/target/classes:$root/target/test-classes:$(cat "$cp_file")" dev.jseek.cli.Jseek bench train "$@" \
  2> >(LC_ALL=C grep -a -v --line-buffered -e "^WARNING: Using incubator modules" -e "^SLF4J" >&2)
