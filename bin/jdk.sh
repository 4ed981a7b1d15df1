# Sourced by the project's scripts: finds a JDK >= the minimum and exports JAVA_HOME, or stops with a
# message. The minimum is the jdk.minimum property of the root pom.xml (stated there once).
# Order: $JAVA_HOME if it is new enough, then the newest JDK under /usr/lib/jvm.

pm_jdk_minimum() {
  local pom
  pom="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/pom.xml"
  sed -n 's:.*<jdk\.minimum>\([0-9][0-9]*\)</jdk\.minimum>.*:\1:p' "$pom" | head -n 1
}

pm_jdk_major() {
  # prints the feature version of the JDK at $1 (e.g. 25), or nothing
  local release="$1/release"
  [ -x "$1/bin/javac" ] || return 0
  if [ -f "$release" ]; then
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release"
  else
    "$1/bin/javac" -version 2>&1 | sed -n 's/^javac \([0-9]*\).*/\1/p'
  fi
}

pm_find_jdk() {
  local min major candidate best="" best_major=0
  min=$(pm_jdk_minimum)
  if [ -z "$min" ]; then
    echo "error: cannot read jdk.minimum from pom.xml" >&2
    return 1
  fi
  if [ -n "${JAVA_HOME:-}" ]; then
    major=$(pm_jdk_major "$JAVA_HOME")
    if [ -n "$major" ] && [ "$major" -ge "$min" ]; then
      export JAVA_HOME
      return 0
    fi
    echo "note: JAVA_HOME=$JAVA_HOME is not a JDK >= $min (found '${major:-none}'); looking under /usr/lib/jvm" >&2
  fi
  for candidate in /usr/lib/jvm/*; do
    [ -d "$candidate" ] || continue
    major=$(pm_jdk_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge "$min" ] && [ "$major" -gt "$best_major" ]; then
      best="$candidate"; best_major="$major"
    fi
  done
  if [ -z "$best" ]; then
    cat >&2 <<MSG
error: platform-memory needs a JDK $min or newer (its classes are compiled for $min) and none was found.
Install one and point JAVA_HOME at it, for example:
    export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
MSG
    return 1
  fi
  export JAVA_HOME="$best"
}

pm_find_jdk || exit 1
export PATH="$JAVA_HOME/bin:$PATH"
