# Sourced by ./jseek and ./test: sets JSEEK_JAVA_HOME to a JDK >= 25.
# Order: $JAVA_HOME, then the JDKs installed under /usr/lib/jvm and /opt, then `java` on PATH.
jseek_java_major() { # prints the major version of the java binary $1
  "$1" -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'
}
jseek_find_jdk() {
  local cand
  for cand in "${JAVA_HOME:-}" /usr/lib/jvm/* /opt/java/* /opt/jdk* "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")"; do
    [ -n "$cand" ] && [ -x "$cand/bin/java" ] && [ -x "$cand/bin/javac" ] || continue
    local major; major=$(jseek_java_major "$cand/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 25 ] 2>/dev/null; then JSEEK_JAVA_HOME="$cand"; return 0; fi
  done
  echo "jseek: no JDK >= 25 found (checked \$JAVA_HOME, /usr/lib/jvm, /opt, PATH). Install Temurin 25 or set JAVA_HOME." >&2
  return 1
}
