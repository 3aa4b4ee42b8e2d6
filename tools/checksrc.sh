#!/usr/bin/env bash
# tools/checksrc.sh -- bans C functions with safer replacements (curl's checksrc list):
# sprintf, strcpy, strcat, strncpy, strtok, atoi, sscanf, strerror, gmtime, localtime.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|atoi|atol|sscanf|strerror|gmtime|localtime)[[:space:]]*\('
hits=$(find base config codecs storage gateway tests -name '*.[ch]' -print0 | xargs -0 grep -nE "$banned" | grep -vE '//.*checksrc-ok|/\*.*checksrc-ok' || true)
if [ -n "$hits" ]; then
  echo "banned functions (use snprintf, checked parsers, _r variants):"
  echo "$hits"
  exit 1
fi
echo "checksrc: ok"
