#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need
# (Debian's chromium and chromium-driver for the browser tests, postgresql for
# the PostgreSQL tests, nginx-light for the deployment test), then runs
# formatting and lint checks, unit tests and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_install=()
command -v chromium >/dev/null 2>&1 || need_install+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_install+=(chromium-driver)
# nginx, for the test of the documented deployment (docs/nginx/secobot.conf).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_install+=(nginx-light)
if [ ${#need_install[@]} -gt 0 ]; then
  echo "==> installing ${need_install[*]} (browser tests)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_install[@]}" >/dev/null
fi

# PostgreSQL, for the throwaway clusters of the PostgreSQL tests (scripts/postgres.sh).
bash scripts/postgres.sh install

# axe-core, injected by the browser tests to check every page's accessibility.
AXE_VERSION=4.11.4
if [ ! -f target/axe/node_modules/axe-core/axe.min.js ] ||
  ! grep -q "\"version\": \"$AXE_VERSION\"" target/axe/node_modules/axe-core/package.json; then
  command -v npm >/dev/null 2>&1 || {
    echo "==> installing npm (axe-core for the accessibility checks)"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq npm >/dev/null
  }
  echo "==> installing axe-core $AXE_VERSION (npm)"
  mkdir -p target/axe
  npm install --silent --no-audit --no-fund --prefix target/axe "axe-core@$AXE_VERSION"
fi

# aiosmtpd, the real SMTP server the mail tests start (scripts/smtp-sink.py).
AIOSMTPD_VERSION=1.4.6
if [ ! -f "target/pylib/aiosmtpd-$AIOSMTPD_VERSION.dist-info/METADATA" ]; then
  echo "==> installing aiosmtpd $AIOSMTPD_VERSION (pip, under target/pylib)"
  rm -rf target/pylib
  python3 -m pip install --quiet --disable-pip-version-check --target target/pylib "aiosmtpd==$AIOSMTPD_VERSION"
fi

echo "==> cargo fmt --check"
cargo fmt --check
echo "==> cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "==> tests"
# Short panics: a failing test's message, not a backtrace, is what a log excerpt keeps.
export RUST_BACKTRACE=0
# Two test threads: every integration test starts its own server (and some a browser).
# Benchmarks are type-checked by clippy above and run with `cargo bench`.
cargo test --workspace --lib --bins --tests -- --test-threads=2 \
  --skip instances::sixty_four_users_on_two_instances_lose_nothing_when_one_is_killed
echo "==> 64 users on two instances, one killed (alone: it loads both cores)"
cargo test --test api -- --exact \
  instances::sixty_four_users_on_two_instances_lose_nothing_when_one_is_killed
echo "==> agents, cases and mail again, on PostgreSQL (a throwaway cluster)"
# The same tests, with every server and command on a database of their own
# in one cluster (tests/api/postgres_support.rs: database_for).
pg_dir=$(mktemp -d)
chmod 755 "$pg_dir"
trap 'bash scripts/postgres.sh stop "$pg_dir/cluster" >/dev/null 2>&1 || true; rm -rf "$pg_dir"' EXIT
bash scripts/postgres.sh start "$pg_dir/cluster" >/dev/null
SECOBOT_TEST_POSTGRES="$pg_dir/cluster" cargo test --test api -- --test-threads=2 agents:: cases:: mail::
echo "==> secobot check on the bundled knowledge"
# The binary the integration tests ran (`cargo run` would build it again:
# features are unified differently without the test targets).
target/debug/secobot check --knowledge knowledge
echo "all tests passed"
