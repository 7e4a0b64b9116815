"""The sh that lists an archive's members and refuses one that would land outside the destination.

It runs on the host before anything is unpacked. Refused: an absolute name or a `..` component (in a
name or a hard link's target), a device or FIFO, a symlink whose target is absolute or leads outside
once resolved from its own directory, and any name or link target that passes through a symlink of
the archive (resolving those by name alone could not tell where they lead). A zip with symlinks is
refused whole (zipinfo does not list their targets). Names are checked after `strip_components`.
"""

from __future__ import annotations

# Reads GNU tar's `-tv` listing (LC_ALL=C, --numeric-owner, escaped names, and --absolute-names, without
# which tar would show hard link targets with a leading ../ already removed) or unzip's name list
# (`kind=zip`); prints one `refusing ...` line per bad member and exits 1 when there was one.
CHECK = r"""
function refuse(why) { print "refusing " why; bad = 1 }
function stripped(name,   i) {
  sub(/^(\.\/)+/, "", name)
  for (i = 0; i < strip; i++) { if (index(name, "/") == 0) return ""; name = substr(name, index(name, "/") + 1) }
  sub(/\/+$/, "", name); return name
}
function escapes(name,   parts, n, i) {
  if (name ~ /^\//) return 1
  n = split(name, parts, "/"); for (i = 1; i <= n; i++) if (parts[i] == "..") return 1
  return 0
}
function through(name,   parts, n, i, p) {  # the first symlink member `name` passes through, or ""
  n = split(name, parts, "/"); p = ""
  for (i = 1; i < n; i++) { p = (p == "" ? parts[i] : p "/" parts[i]); if (p in links) return p }
  return ""
}
function lands(dir, target,   parts, n, i, k, depth, stack, p) {  # "" when inside, else why not
  if (target ~ /^\//) return "an absolute target"
  n = split(dir == "" ? target : dir "/" target, parts, "/"); depth = 0
  for (i = 1; i <= n; i++) {
    if (parts[i] == "" || parts[i] == ".") continue
    if (parts[i] == "..") { if (depth == 0) return "a target outside the destination"; depth--; continue }
    stack[++depth] = parts[i]; p = stack[1]; for (k = 2; k <= depth; k++) p = p "/" stack[k]
    if (i < n && (p in links)) return "a target through the symlink " p
  }
  return ""
}
kind == "zip" { type[++count] = ($0 ~ /\/$/) ? "d" : "-"; name[count] = $0; next }
{
  t = substr($0, 1, 1); rest = $0; target = ""
  sub(/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ /, "", rest)
  if (t == "l" || t == "h") {
    if (split(rest, pair, t == "l" ? " -> " : " link to ") != 2) {
      refuse(rest ": its name or target cannot be told apart"); next
    }
    rest = pair[1]; target = pair[2]
  }
  type[++count] = t; name[count] = rest; link[count] = target
}
END {
  for (i = 1; i <= count; i++) {
    raw = name[i]; name[i] = stripped(name[i])
    if (escapes(raw) || escapes(name[i])) refuse(raw ": an absolute name or a .. component")
    else if (type[i] !~ /^[-dlh]$/) refuse(raw ": not a file, directory or link")
    else if (type[i] == "h" && escapes(link[i])) refuse(raw ": a hard link to " link[i])
    else if (type[i] == "l" && name[i] != "") links[name[i]] = link[i]
  }
  for (i = 1; i <= count; i++) {
    if (name[i] == "") continue
    p = through(name[i]); if (p != "") refuse(name[i] ": inside the symlink " p)
    if (type[i] == "h" && through(stripped(link[i])) != "") refuse(name[i] ": a hard link through a symlink")
    if (type[i] == "l") {
      dir = name[i]; if (!sub(/\/[^\/]*$/, "", dir)) dir = ""
      why = lands(dir, link[i]); if (why != "") refuse(name[i] " -> " link[i] ": " why)
    }
  }
  exit bad
}
"""

# sh with $archive, $kind (tar|zip) and $strip set: the listing through CHECK; fails on a refusal.
LIST = """\
if [ "$kind" = zip ]; then
  if unzip -Z -s "$archive" | grep -q '^l'; then echo "refusing the zip: it holds symlinks" >&2; exit 1; fi
  unzip -Z1 "$archive" > "$work/list" || { echo "archive: unzip cannot list $archive" >&2; exit 1; }
else
  LC_ALL=C tar --quoting-style=escape --numeric-owner --absolute-names -tvf "$archive" > "$work/list" \\
    || { echo "archive: tar cannot list $archive" >&2; exit 1; }
fi
awk -v kind="$kind" -v strip="$strip" '""" + CHECK.replace("'", "'\\''") + """' "$work/list" >&2 || exit 1
"""
