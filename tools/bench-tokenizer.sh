#!/usr/bin/env bash
# jseek vs Hugging Face tokenizers (Rust, via DJL — a test-scope dependency) encoding the same ~50 MB of JDK
# sources (src.zip) in one JVM: MB/s single-threaded and batched over all cores, and the ratio.
# Usage: tools/bench-tokenizer.sh [tokenizer.json] [MB] [threads]
#   default tokenizer: DeepSeek-V3's (tools/fetch-test-data.sh); default 50 MB; default threads = all cores.
# Needs the DJL jars in ~/.m2 once (mvn resolves them; the native library is inside the jar, no download).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/tools/find-jdk.sh"
jseek_find_jdk
export JAVA_HOME="$JSEEK_JAVA_HOME"
"$root/tools/fetch-test-data.sh"
cd "$root"
mvn -B -q test-compile >&2
cp_file="$root/target/test-classpath.txt"
if [ ! -f "$cp_file" ] || [ pom.xml -nt "$cp_file" ]; then
  mvn -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >&2
fi
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC \
  -Xmx8g -Dai.djl.offline=true ${JSEEK_JAVA_OPTS:-} \
  -cp "$root/target/classes:$root/target/test-classes:$(cat "$cp_file")" \
  dev.jseek.tokenizer.HfTokenizerBench "${1:-}" "${2:-50}" "${3:-$(nproc)}" \
  2> >(LC_ALL=C grep -a -v -e "^WARNING: Using incubator modules" -e "^SLF4J" >&2)
