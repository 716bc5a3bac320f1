#!/usr/bin/env bash
# The partyline command line: --help, --version, --print-config, config file
# and environment precedence, and clear errors for bad input.
#   cli_test.sh PATH-TO-PARTYLINE
set -uo pipefail
binary="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0

check() {  # check DESCRIPTION CONDITION...
  local description="$1"; shift
  if "$@"; then echo "ok   $description"; else echo "FAIL $description"; failures=$((failures + 1)); fi
}
json_value() {  # json_value FILE PYTHON-EXPRESSION-ON-c
  /usr/bin/python3 -c "import json,sys; c=json.load(open(sys.argv[1])); print($2)" "$1"
}

"$binary" --version >"$work/out" 2>&1; status=$?
check "--version exits 0 and names the program" test "$status" = 0 -a "$(cut -d' ' -f1 "$work/out")" = partyline

"$binary" --help >"$work/out" 2>&1; status=$?
check "--help exits 0 and shows usage" test "$status" = 0
check "--help lists --config" grep -q -- "--config FILE" "$work/out"

env -u PARTYLINE_HTTP_PORT "$binary" --print-config >"$work/config.json" 2>"$work/err"; status=$?
check "--print-config exits 0" test "$status" = 0
check "--print-config prints the embedded default port" test "$(json_value "$work/config.json" "c['http']['port']")" = 8088

"$binary" --config "$work/config.json" --print-config >"$work/again.json" 2>&1; status=$?
check "printed config reads back unchanged" cmp -s "$work/config.json" "$work/again.json"

echo '{"http": {"port": 7000}, "log_level": "debug"}' >"$work/file.json"
PARTYLINE_HTTP_PORT=7100 "$binary" --config "$work/file.json" --print-config >"$work/out" 2>&1
check "environment overrides the file" test "$(json_value "$work/out" "c['http']['port']")" = 7100
check "file overrides the defaults" test "$(json_value "$work/out" "c['log_level']")" = debug

echo '{"http": {"prot": 1}}' >"$work/typo.json"
"$binary" --config "$work/typo.json" >"$work/out" 2>&1; status=$?
check "unknown key exits 2" test "$status" = 2
check "unknown key is named" grep -q "'http.prot' is not a known setting" "$work/out"

printf '{"http": {\n  "port": 80,,\n}}' >"$work/broken.json"
"$binary" --config "$work/broken.json" >"$work/out" 2>&1; status=$?
check "malformed JSON exits 2" test "$status" = 2
check "malformed JSON error gives the line" grep -q "line 2" "$work/out"

"$binary" --config "$work/missing.json" >"$work/out" 2>&1; status=$?
check "missing config file exits 2" test "$status" = 2

PARTYLINE_HTTP_PORT=eighty "$binary" --print-config >"$work/out" 2>&1; status=$?
check "bad environment value exits 2" test "$status" = 2
check "bad environment value is named" grep -q PARTYLINE_HTTP_PORT "$work/out"

"$binary" --no-such-option >"$work/out" 2>&1; status=$?
check "unknown option exits 2" test "$status" = 2

"$binary" stray >"$work/out" 2>&1; status=$?
check "stray argument exits 2" test "$status" = 2

echo "cli: $failures failed"
exit $((failures > 0))
