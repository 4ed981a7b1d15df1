# Sourced by the scripts that install Debian/Ubuntu packages (bin/build-deps, bin/native-peers,
# bin/browser-deps): pm_install WHAT PACKAGE... installs the packages that are missing with apt-get, as
# root or through sudo, or says what to run. Does nothing when all are installed; returns 1, naming what
# is missing and WHAT needs it, when it cannot install them.
pm_install() {
  local what="$1"
  shift
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "error: $what needs ${missing[*]}; install them with your package manager" >&2
    return 1
  fi
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then as_root=(sudo); else
      echo "error: $what needs ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
      return 1
    fi
  fi
  echo "platform-memory: installing ${missing[*]}"
  if ! "${as_root[@]}" apt-get update -qq ||
    ! DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null; then
    echo "error: could not install ${missing[*]} with apt-get; $what cannot do without them" >&2
    return 1
  fi
}
