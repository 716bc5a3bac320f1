#!/usr/bin/env bash
# A plugin built out of tree, as an author outside this repository builds
# one: `cmake --install` to a temporary prefix, then the example plugin
# compiled with nothing but `pkg-config --cflags partyline-plugin`, once as
# it is (API 1) and once as if made for API 2. Then a running server must
# load the first, refuse the second with both versions, and serve the
# plugin's requests (plugin_requests_test.py).
#
#   out_of_tree_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"
source_dir="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
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
