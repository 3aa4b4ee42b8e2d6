#!/usr/bin/env bash
# tools/check-layers.sh -- dependencies point one way: gateway -> {codecs, storage, config}
# -> base. codecs and storage never include each other, gateway headers, or uv.h.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
fail=0
check() { # folder, forbidden include pattern, why
  local hits
  hits=$(find "$1" -name "*.[ch]" -print0 | xargs -0 -r grep -nE "^#include [<\"]($2)" || true)
  if [ -n "$hits" ]; then echo "$1 must not include $3:"; echo "$hits"; fail=1; fi
}
gateway_headers=$(find gateway -name "*.h" -printf "%f\n" | paste -sd'|' | sed 's/\./\\./g')
codec_headers=$(find codecs -name "*.h" -printf "%f\n" | paste -sd'|' | sed 's/\./\\./g')
storage_headers=$(find storage -name "*.h" -printf "%f\n" | paste -sd'|' | sed 's/\./\\./g')
config_headers=$(find config -name "*.h" -printf "%f\n" | paste -sd'|' | sed 's/\./\\./g')
check base "uv\.h|libpq-fe\.h|$gateway_headers|$codec_headers|$storage_headers|$config_headers" "anything above base"
check codecs "uv\.h|libpq-fe\.h|$gateway_headers|$storage_headers|$config_headers|cp_log\.h" "gateway, storage, config, libuv or logging"
check storage "uv\.h|$gateway_headers|$codec_headers|$config_headers|cp_log\.h" "gateway, codecs, config, libuv or logging"
check config "uv\.h|libpq-fe\.h|$gateway_headers|$codec_headers|$storage_headers" "gateway, codecs, storage"
[ $fail -eq 0 ] && echo "check-layers: ok"
exit $fail
