#!/usr/bin/env bash
# The grader's sandbox, entered through
#   unshare [--user --map-root-user] --net --mount --pid --fork --mount-proc --kill-child \
#     bash tools/grade-sandbox.sh [--keep PATH]... [--uid UID] [--work-mib N] BASE -- COMMAND...
# (tools/assign-run.ts builds that line). In fresh network, mount and PID namespaces it
#   - brings up the loopback interface (the kernel talks to Jupyter over 127.0.0.1; there is
#     no other interface, so no network);
#   - builds a new root from an allow-list on a tmpfs at BASE/root: the system folders (/usr,
#     /etc, /bin, /lib...), a few devices, a fresh /proc, and the --keep paths (node_modules,
#     the built library, Jupyter's kernel spec, the data); nothing else exists there: not the
#     project's assignments/ or build/assignments/, not /home, /root, /tmp or /srv;
#   - makes BASE/work, the submission's folder, a tmpfs of N MiB (its files never reach the
#     disk and cannot fill it), with home/, tmp/, runtime/, figures/ and checkpoints/;
#   - makes every mount read-only but that folder, enters the new root, takes the user id
#     UID (when root: a user of its own, whose process limit no other grading run shares) and
#     drops every capability, so that nothing can be remounted or reconfigured, then runs
#     COMMAND.
# Processes outside the namespace cannot be seen or signalled; when the grader kills
# unshare, every process inside dies with it. Exit status 97: the sandbox could not be built.
set -euo pipefail
die() { echo "grade-sandbox: $*" >&2; exit 97; }

keep=()
uid=""
work_mib=128
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep+=("$2"); shift 2 ;;
    --uid) uid="$2"; shift 2 ;;
    --work-mib) work_mib="$2"; shift 2 ;;
    --) shift; break ;;
    -*) die "unknown option $1" ;;
    *) base="$1"; shift ;;
  esac
done
[ -n "${base:-}" ] && [ -d "$base/root" ] || die "${base:-BASE}/root is not a folder"
[ $# -gt 0 ] || die "no command"
new="$base/root"
work="$base/work"

mount --make-rprivate /
"${DLC_PYTHON:-python3}" -c '
import fcntl, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
req = struct.pack("16sh", b"lo", 0)
flags = struct.unpack("16sh", fcntl.ioctl(s, 0x8913, req))[1]  # SIOCGIFFLAGS
fcntl.ioctl(s, 0x8914, struct.pack("16sh", b"lo", flags | 1))  # SIOCSIFFLAGS, IFF_UP
' || die "cannot bring up the loopback interface"

mount -t tmpfs -o mode=755,size=4m dlc7-sandbox "$new" || die "cannot mount a tmpfs on $new"

# A path of the host at the same place in the new root: a folder or file bound (recursively:
# with what is mounted below it), a symbolic link copied as it is.
place() {
  local src="$1" dst="$new$1"
  if [ -L "$src" ]; then
    mkdir -p "$(dirname "$dst")"
    ln -s "$(readlink "$src")" "$dst"
  elif [ -d "$src" ]; then
    mkdir -p "$dst"
    mount --rbind "$src" "$dst" || die "cannot bind $src"
  elif [ -e "$src" ]; then
    mkdir -p "$(dirname "$dst")"
    : >"$dst"
    mount --bind "$src" "$dst" || die "cannot bind $src"
  fi
}

for d in /usr /bin /sbin /lib /lib32 /lib64 /libx32 /etc; do place "$d"; done
# A kept path inside another one is already there (and creating its mount point would
# write into the host's folder).
mapfile -t sorted < <(printf '%s\n' "${keep[@]}" | sort -u)
placed=()
for k in "${sorted[@]}"; do
  [ -n "$k" ] || continue
  case "$k" in /*) ;; *) die "--keep $k: not an absolute path" ;; esac
  inside=""
  for p in /usr /bin /sbin /lib /lib32 /lib64 /libx32 /etc "${placed[@]}"; do
    case "$k/" in "$p"/*) inside=1 ;; esac
  done
  [ -n "$inside" ] && continue
  place "$k"
  placed+=("$k")
done

mkdir -p "$new/dev" "$new/proc" "$new/tmp"
for n in null zero full random urandom tty; do
  : >"$new/dev/$n"
  mount --bind "/dev/$n" "$new/dev/$n" || die "cannot bind /dev/$n"
done
ln -s /proc/self/fd "$new/dev/fd"
ln -s /proc/self/fd/0 "$new/dev/stdin"
ln -s /proc/self/fd/1 "$new/dev/stdout"
ln -s /proc/self/fd/2 "$new/dev/stderr"
mount -t proc proc "$new/proc" || die "cannot mount /proc"

mkdir -p "$new$work"
owner=""
[ -n "$uid" ] && owner=",uid=$uid,gid=$uid"
mount -t tmpfs -o "mode=700,size=${work_mib}m$owner" dlc7-work "$new$work" ||
  die "cannot mount the submission's folder"
mkdir "$new$work"/{home,tmp,runtime,figures,checkpoints}
[ -n "$uid" ] && chown "$uid:$uid" "$new$work"/*
# Notebooks import "dlc7/..." and tfjs, resolved from the kernel's folder upwards.
for k in "${placed[@]}"; do
  case "$k" in */node_modules) ln -s "$k" "$new$work/node_modules" ;; esac
done

# Read-only: every mount of the new root but the submission's folder, /proc and devices.
while read -r mp; do
  mp="$(printf '%b' "${mp//\\/\\0}")" # mountinfo escapes spaces as \040
  case "$mp" in
    "$new$work" | "$new/proc" | "$new/proc/"* | "$new/dev/"*) continue ;;
    "$new" | "$new/"*) mount -o remount,bind,ro "$mp" 2>/dev/null ||
      die "cannot make $mp read-only" ;;
  esac
done < <(awk '{ print $5 }' /proc/self/mountinfo | sort -u)

ids=()
[ -n "$uid" ] && ids=(--reuid "$uid" --regid "$uid" --clear-groups)
cd "$new"
exec chroot "$new" setpriv "${ids[@]}" --no-new-privs --inh-caps=-all --bounding-set=-all \
  -- "$@"
