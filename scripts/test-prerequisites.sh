#!/usr/bin/env bash
# The first step of `npm test`: makes sure every Debian program the tests start is on this machine.
# The tests run real servers nobody here wrote (nginx with WebDAV, Apache, lighttpd, vsftpd, tinyproxy),
# a private D-Bus, openssl for test certificates, curl, systemd-analyze and util-linux's script/runuser.
#
# - All present: says so in one line and exits 0 (no apt, well under a second).
# - Something missing, running as root where apt-get exists: installs exactly the missing packages
#   (apt-get update, then apt-get install --no-install-recommends), without letting their postinst
#   scripts start daemons, then checks again.
# - Something missing otherwise: ONE line on stderr naming what is missing and the command that
#   installs it, exit 1.
#
# BGTRANSFER_TEST_PREREQS_PRETEND_MISSING="lighttpd tinyproxy" (Debian package names, space or comma
# separated) treats those packages as missing in the first check, to try the paths above on a machine
# that has everything.
set -euo pipefail

started_ns="$(date +%s%N)"

find_program() {
  local name="$1" dir
  command -v "${name}" 2>/dev/null && return 0
  # Debian puts daemons in sbin, which an unprivileged user's PATH often lacks.
  for dir in /usr/sbin /sbin /usr/local/sbin /usr/bin; do
    [[ -x "${dir}/${name}" ]] && {
      echo "${dir}/${name}"
      return 0
    }
  done
  return 1
}

# `nginx` is the Debian package built --with-http_dav_module (nginx-light is only a transitional
# package in bookworm); test/helpers/nginx.ts needs PUT.
nginx_has_dav() {
  local nginx_bin
  nginx_bin="$(find_program nginx)" || return 1
  "${nginx_bin}" -V 2>&1 | grep -q -- '--with-http_dav_module'
}

# One check per Debian package: "package|what the tests use it for|check command".
CHECKS=(
  "nginx|nginx with WebDAV|nginx_has_dav"
  "openssl|openssl|find_program openssl"
  "curl|curl|find_program curl"
  "vsftpd|vsftpd|find_program vsftpd"
  "dbus-daemon|dbus-daemon|find_program dbus-daemon"
  "systemd|systemd-analyze|find_program systemd-analyze"
  "apache2|apache2 with mod_dav and mod_auth_digest|test -e /usr/lib/apache2/modules/mod_dav_fs.so -a -e /usr/lib/apache2/modules/mod_auth_digest.so"
  "lighttpd|lighttpd|find_program lighttpd"
  "lighttpd-mod-webdav|lighttpd's mod_webdav|test -e /usr/lib/lighttpd/mod_webdav.so"
  "tinyproxy|tinyproxy|find_program tinyproxy"
  "bsdutils|script|find_program script"
  "util-linux|runuser|find_program runuser"
)

pretended=" $(tr ',' ' ' <<<"${BGTRANSFER_TEST_PREREQS_PRETEND_MISSING:-}") "

# Fills `missing_packages` and `missing_programs`; pretend=1 honours the override above.
check_all() {
  local pretend="$1" entry package program check
  missing_packages=()
  missing_programs=()
  for entry in "${CHECKS[@]}"; do
    IFS='|' read -r package program check <<<"${entry}"
    if ((pretend)) && [[ "${pretended}" == *" ${package} "* ]]; then
      :
    elif ${check} >/dev/null 2>&1; then
      continue
    fi
    missing_packages+=("${package}")
    missing_programs+=("${program}")
  done
}

# "a, b, c" from the arguments.
comma_list() {
  local IFS=,
  sed 's/,/, /g' <<<"$*"
}

elapsed() {
  awk -v a="${started_ns}" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'
}

install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  # A postinst would start a daemonized nginx/apache on port 80; PID 1 on CI does not reap orphans,
  # so service starts are forbidden for the install unless the image already does that.
  local added_policy=0 status=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  apt-get update -qq || { sleep 5 && apt-get update -qq; } || status=$?
  if ((status == 0)); then
    apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "$@" || status=$?
  fi
  ((added_policy)) && rm -f /usr/sbin/policy-rc.d
  return "${status}"
}

check_all 1
if ((${#missing_packages[@]} == 0)); then
  programs=()
  for entry in "${CHECKS[@]}"; do
    IFS='|' read -r _ program _ <<<"${entry}"
    programs+=("${program}")
  done
  echo "test prerequisites: all installed, nothing to do ($(comma_list "${programs[@]}")); checked in $(elapsed) s"
  exit 0
fi

install_command="apt-get install -y --no-install-recommends ${missing_packages[*]}"
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  why="not root"
  [[ "$(id -u)" == 0 ]] && why="no apt-get here"
  echo "test prerequisites missing: $(comma_list "${missing_programs[@]}") (${why}, so npm test cannot install them); install them as root with: ${install_command}" >&2
  exit 1
fi

echo "test prerequisites: installing the Debian packages ${missing_packages[*]} (for $(comma_list "${missing_programs[@]}"))"
install_packages "${missing_packages[@]}" || {
  echo "test prerequisites: apt-get failed (exit $?) installing ${missing_packages[*]}; try: ${install_command}" >&2
  exit 1
}
check_all 0
if ((${#missing_packages[@]} > 0)); then
  echo "test prerequisites: still missing after apt-get: $(comma_list "${missing_programs[@]}") (packages ${missing_packages[*]})" >&2
  exit 1
fi
echo "test prerequisites: installed in $(elapsed) s; $(find_program nginx >/dev/null && "$(find_program nginx)" -v 2>&1), $(openssl version)"
