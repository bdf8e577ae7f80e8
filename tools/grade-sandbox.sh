#!/usr/bin/env bash
# The grader's sandbox, entered through
#   unshare [--user --map-root-user] --net --mount --pid --fork --mount-proc --kill-child \
#     bash tools/grade-sandbox.sh WORK -- COMMAND...
# (tools/grade-submission.ts builds that line). Inside fresh network, mount and PID
# namespaces it brings up the loopback interface (the kernel talks to Jupyter over
# 127.0.0.1; there is no other interface, so no network), makes every mount read-only
# except the folder WORK, then drops every capability (so nothing can remount or
# reconfigure) and runs COMMAND. Processes outside the namespace cannot be seen or
# signalled; when the grader kills unshare, every process inside dies with it.
set -euo pipefail
work="$1"
shift
[ "${1:-}" = "--" ] && shift
[ -d "$work" ] || { echo "grade-sandbox: $work is not a folder" >&2; exit 97; }

mount --make-rprivate /
"${DLC_PYTHON:-python3}" -c '
import fcntl, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
req = struct.pack("16sh", b"lo", 0)
flags = struct.unpack("16sh", fcntl.ioctl(s, 0x8913, req))[1]  # SIOCGIFFLAGS
fcntl.ioctl(s, 0x8914, struct.pack("16sh", b"lo", flags | 1))  # SIOCSIFFLAGS, IFF_UP
'
# WORK becomes a mount of its own, so that it stays writable when the rest turns read-only.
mount --bind "$work" "$work"
while read -r mp; do
  mp="$(printf '%b' "${mp//\\/\\0}")" # mountinfo escapes spaces as \040
  [ "$mp" = "$work" ] && continue
  mount -o remount,bind,ro "$mp" 2>/dev/null ||
    { echo "grade-sandbox: cannot make $mp read-only" >&2; exit 97; }
done < <(awk '{ print $5 }' /proc/self/mountinfo | sort -u)

exec setpriv --no-new-privs --inh-caps=-all --bounding-set=-all -- "$@"
