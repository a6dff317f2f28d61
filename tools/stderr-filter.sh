# Sourced by ./jseek. jseek_stderr_filter copies standard input to standard error, line by line as it arrives, minus
# the JVM's "WARNING: Using incubator modules" line. Every other line passes byte for byte: -a, because grep
# otherwise calls input holding a NUL byte binary and prints "binary file matches" instead of the lines; LC_ALL=C,
# so bytes that are not UTF-8 are not an encoding error.
jseek_stderr_filter() {
  LC_ALL=C grep -a -v --line-buffered '^WARNING: Using incubator modules' >&2 || true
}
