#!/bin/sh
# Fuzz the request readers for a bounded time (default 60 s): atheris when installed,
# else the plain random-mutation loop. Exit non-zero on a finding (the input is saved).
#   fuzz/run.sh [SECONDS]
set -eu
seconds="${1:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-$here/../.venv/bin/python}"
corpus="${FUZZ_CORPUS:-$(mktemp -d)}"
"$python" "$here/fuzz_read.py" --make-seeds "$corpus"
if "$python" -c "import atheris" 2>/dev/null; then
    exec "$python" "$here/fuzz_read.py" -max_total_time="$seconds" -timeout=20 \
        -rss_limit_mb=4096 -artifact_prefix="${FUZZ_ARTIFACTS:-./}" "$corpus"
fi
echo "atheris not installed: plain random-mutation fuzzing instead" >&2
exec "$python" "$here/fuzz_read.py" --plain --seconds "$seconds"
