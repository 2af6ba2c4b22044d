#!/usr/bin/env bash
# Make sure Dovecot's IMAP server binary (/usr/sbin/dovecot, Debian package
# dovecot-imapd) is installed for the IMAP tests and benchmarks. The test
# suite starts its own Dovecot on a free loopback port with a config in a
# temp dir (emails/tests/imapserver.py); the system service is never used,
# so when this script installs the package it also stops and disables the
# service that the package's postinst may have started on port 143.
#
# Idempotent: does nothing when /usr/sbin/dovecot is already there.
# Where installing is impossible it says so loudly and exits 0: the IMAP
# tests then skip with a loud reason (and fail under CI=true).
set -uo pipefail

DOVECOT=/usr/sbin/dovecot
[ -x "$DOVECOT" ] && exit 0

say() { echo "$*" >&2; }

sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    say "!!! cannot install dovecot-imapd (not root, no sudo): IMAP tests will skip (fail under CI) !!!"; exit 0
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "!!! no apt-get to install dovecot-imapd: IMAP tests will skip (fail under CI) !!!"; exit 0
fi

say "Installing dovecot-imapd with apt-get..."
if ! { $sudo apt-get update -qq >/dev/null \
       && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            dovecot-imapd >/dev/null; }; then
  if [ ! -x "$DOVECOT" ]; then
    say "!!! apt-get could not install dovecot-imapd: IMAP tests will skip (fail under CI) !!!"; exit 0
  fi
  # E.g. the package's postinst failed to start the system service: the binary is all we need.
  say "!!! apt-get reported an error (above), but $DOVECOT is installed: going on !!!"
fi
if [ ! -x "$DOVECOT" ]; then
  say "!!! dovecot-imapd installed but $DOVECOT is missing: IMAP tests will skip (fail under CI) !!!"; exit 0
fi

# We never use the system instance: stop it if the postinst started it and
# keep it from starting at boot. Each step may legitimately fail (no
# systemd, policy-rc.d forbade the start, ...), so none is fatal.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  $sudo systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
else
  if command -v invoke-rc.d >/dev/null 2>&1; then
    $sudo invoke-rc.d dovecot stop >/dev/null 2>&1 || true
  fi
  if command -v update-rc.d >/dev/null 2>&1; then
    $sudo update-rc.d dovecot disable >/dev/null 2>&1 || true
  fi
fi
# Whatever the init system, make sure no instance with the system config runs.
if [ -s /run/dovecot/master.pid ] && $sudo kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; then
  $sudo "$DOVECOT" -c /etc/dovecot/dovecot.conf stop >/dev/null 2>&1 || $sudo kill "$(cat /run/dovecot/master.pid)" 2>/dev/null || true
fi
say "dovecot-imapd installed: $("$DOVECOT" --version 2>/dev/null) (system service stopped; tests start their own)"
exit 0
