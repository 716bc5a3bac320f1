#!/usr/bin/env bash
# A plugin built out of tree, as an author outside this repository builds
# one: `cmake --install` to a temporary prefix, then the example plugin
# compiled with nothing but `pkg-config --cflags partyline-plugin`, once as
# it is (API 1) and once as if made for API 2. Then a running server must
# load the first, refuse the second with both versions, and serve the
# plugin's requests (plugin_requests_test.py). Before that, the installed
# server itself: it serves the installed page (no build tree needed) and its
# example config is valid.
#
#   out_of_tree_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"
source_dir="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"

# The installed server finds its page and example config without the build
# tree: its default web_root is <prefix>/share/partyline/web.
prefix="$work/prefix"
for installed in bin/partyline share/partyline/web/index.html share/partyline/web/partyline.js \
                 share/partyline/partyline.example.json; do
  [[ -e "$prefix/$installed" ]] || { echo "FAIL: cmake --install did not install $installed"; exit 1; }
done
web_root="$(PARTYLINE_JWT_SECRET=example "$prefix/bin/partyline" \
  --config "$prefix/share/partyline/partyline.example.json" --print-config |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["http"]["web_root"])')"
[[ "$web_root" == "$prefix/share/partyline/web" ]] ||
  { echo "FAIL: the installed server's web_root is '$web_root', not $prefix/share/partyline/web"; exit 1; }
echo "installed server: web_root $web_root; the example config is valid"
PARTYLINE_HTTP_PORT=18091 PARTYLINE_ADMIN_PORT=0 "$prefix/bin/partyline" >"$work/installed.log" 2>&1 &
installed_pid=$!
/usr/bin/python3 - "$prefix/share/partyline/web/index.html" <<'PY' || { kill "$installed_pid"; cat "$work/installed.log"; exit 1; }
import sys, time, urllib.request
expected = open(sys.argv[1], "rb").read()
deadline = time.monotonic() + 15
while True:
    try:
        page = urllib.request.urlopen("http://127.0.0.1:18091/", timeout=2).read()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("FAIL: the installed server did not serve / within 15 s")
        time.sleep(0.1)
if page != expected:
    sys.exit("FAIL: the installed server's / is not the installed index.html")
print("installed server: serves the installed index.html")
PY
kill "$installed_pid"
wait "$installed_pid" || true
export PKG_CONFIG_PATH="$work/prefix/share/pkgconfig"
cflags="$(pkg-config --cflags partyline-plugin)"
echo "pkg-config --cflags partyline-plugin: $cflags"
echo "plugin API of the installed header: $(pkg-config --variable=api_version partyline-plugin)"
mkdir -p "$work/plugins"
example="$source_dir/tests/plugins/example/example_plugin.c"
# shellcheck disable=SC2086  # cflags is a list of flags
cc -std=c11 -Wall -Wextra -Werror -shared -fPIC $cflags -o "$work/plugins/libexample.so" "$example" -lpthread
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror -shared -fPIC $cflags -DEXAMPLE_API_MAJOR=2 '-DEXAMPLE_NAME="example-next"' \
  -o "$work/plugins/libexample_next.so" "$example" -lpthread
# The same as if built against API 1.0's header: a shorter pl_plugin.
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror -shared -fPIC $cflags -DEXAMPLE_API_1_0 '-DEXAMPLE_NAME="example-1.0"' \
  -o "$work/plugins/libexample_old.so" "$example" -lpthread

/usr/bin/python3 "$source_dir/tests/plugins/plugin_requests_test.py" \
  --binary "$build/signaling/partyline" --folder "$work/plugins"
