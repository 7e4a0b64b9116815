"""Who acts on a path on the host: root only where no other user can swap what lies above it.

A directory that another user can write is hostile ground for root: between two commands that user
can replace a name with a symlink to a root file. So every action that changes a path first walks
the directories above it (as written and as resolved, one `stat` for all of them):

- every one owned by root and writable by nobody else (group root may write): the action runs as root;
- else the first one that is not is owned by a user U and writable by U alone, and so is every one
  below it (or root's): the action runs as U (setpriv), so a trick gains U nothing U could not do;
- else (a directory that several users can write, such as /tmp): the action is refused.

The state directory (lock, pending handlers) must be root's own: 0700, a real directory, regular files.
"""

from __future__ import annotations

STATE_DIR = "/var/lib/configurator"
UNSAFE_STATE = 76  # exit status of the first script when the state directory is not root's own

# __cfg_actor PATH: sets __cfg_as to "" (root) or a setpriv prefix; prints why and fails when refused.
# Only builtins but realpath, stat and (for a user) id; numbers only are parsed, so names may hold anything.
ACTOR = r"""
__cfg_chain() {
  __cfg_rest=${1#/}; __cfg_p=
  while [ -n "$__cfg_rest" ]; do
    __cfg_c=${__cfg_rest%%/*}; __cfg_p=$__cfg_p/$__cfg_c
    if [ "$__cfg_rest" = "$__cfg_c" ]; then __cfg_rest=; else __cfg_rest=${__cfg_rest#*/}; fi
    __cfg_dirs="$__cfg_dirs$__cfg_p$__cfg_nl"
  done
}
__cfg_actor() {
  __cfg_nl='
'
  __cfg_t=$1; __cfg_d=${1%/*}
  while [ -n "$__cfg_d" ] && [ ! -d "$__cfg_d" ]; do __cfg_d=${__cfg_d%/*}; done
  __cfg_r=$(realpath -e -- "${__cfg_d:-/}") || return 1
  __cfg_dirs="/$__cfg_nl"; __cfg_chain "$__cfg_d"; __cfg_chain "$__cfg_r"
  __cfg_old=$IFS; IFS=$__cfg_nl; set -f
  # shellcheck disable=SC2086
  set -- $__cfg_dirs
  IFS=$__cfg_old; set +f
  if ! __cfg_s=$(stat -c '%u %g %f' -- "$@"); then
    echo "configurator: the directories above $__cfg_t changed while they were checked" >&2; return 1
  fi
  __cfg_as=; __cfg_uid=
  for __cfg_p in "$@"; do
    __cfg_l=${__cfg_s%%"$__cfg_nl"*}; __cfg_s=${__cfg_s#*"$__cfg_nl"}
    __cfg_u=${__cfg_l%% *}; __cfg_l=${__cfg_l#* }; __cfg_g=${__cfg_l%% *}; __cfg_f=$((0x${__cfg_l#* }))
    [ $((__cfg_f & 0170000)) -eq $((0120000)) ] && continue
    __cfg_m=$((__cfg_f & 07777))
    if [ -z "$__cfg_uid" ] && [ "$__cfg_u" -eq 0 ] && [ $((__cfg_m & 2)) -eq 0 ] \
       && { [ $((__cfg_m & 16)) -eq 0 ] || [ "$__cfg_g" -eq 0 ]; }; then continue; fi
    if [ $((__cfg_m & 18)) -eq 0 ] && { [ -z "$__cfg_uid" ] || [ "$__cfg_u" -eq "$__cfg_uid" ] \
       || [ "$__cfg_u" -eq 0 ]; }; then
      [ -n "$__cfg_uid" ] || [ "$__cfg_u" -eq 0 ] || __cfg_uid=$__cfg_u
      continue
    fi
    printf 'configurator: refusing to act in %s: other users can write to it (mode %o, owner uid %s)%s\n' \
      "$__cfg_p" "$__cfg_m" "$__cfg_u" "; root acts only where no other user can swap a name" >&2
    return 1
  done
  # nobody else controls it, or only the user this shell already runs as: act as we are
  if [ -z "$__cfg_uid" ] || [ "$__cfg_uid" = "$(id -u)" ]; then return 0; fi
  if __cfg_g=$(id -g -- "$__cfg_uid" 2>/dev/null); then
    __cfg_as="setpriv --reuid=$__cfg_uid --regid=$__cfg_g --init-groups --"
  else
    __cfg_as="setpriv --reuid=$__cfg_uid --regid=$__cfg_uid --clear-groups --"
  fi
}
"""

STATE_VAR = "__cfg_dir"  # the shell variable holding the state directory, set by the first script
STATE = f'"${{{STATE_VAR}:-{STATE_DIR}}}"'  # the state directory in sh (the default outside a session)


def state_check(at: str, owner: int) -> str:
    """sh, run before the host lock is taken, that opens the lock on fd 9 only when the directory `at`
    (already quoted; it holds the lock and the pending handlers) is `owner`'s own: 0700, a real
    directory, regular files in it."""
    return f"""
__cfg_state() {{
  if [ ! -e {at} ] && [ ! -L {at} ]; then mkdir -m 0700 {at} || return 1; fi
  __cfg_st=$(stat -c '%u %a %F' -- {at} 2>&1)
  # written by no one else (an older release made it 0755): only its owner could have put anything there
  case $__cfg_st in "{owner} "[0-7]*" directory") __cfg_m=${{__cfg_st#* }}; __cfg_m=${{__cfg_m%% *}}
    if [ $((0$__cfg_m & 022)) -eq 0 ] && [ "$__cfg_m" != 700 ]; then
      chmod 0700 {at} && __cfg_st=$(stat -c '%u %a %F' -- {at} 2>&1); fi ;;
  esac
  if [ "$__cfg_st" != "{owner} 700 directory" ]; then
    echo "configurator: "{at}" must be {_whose(owner)} directory with mode 0700 and writable by no one else"\
" (found: $__cfg_st); fix it by hand" >&2
    return 1
  fi
  for __cfg_f in lock handlers.pending; do
    if [ -L {at}/$__cfg_f ] || {{ [ -e {at}/$__cfg_f ] && [ ! -f {at}/$__cfg_f ]; }}; then
      echo "configurator: "{at}"/$__cfg_f is not a regular file; remove it by hand" >&2
      return 1
    fi
  done
}}
if __cfg_state; then exec 9>>{at}/lock; __cfg_safe=1; else __cfg_safe=; fi
"""


def _whose(owner: int) -> str:
    return "root's" if owner == 0 else f"uid {owner}'s"


def acting(quoted_at: str, command: str) -> str:
    """sh that runs `command` (which starts with `$__cfg_as`) as the user who controls the directory
    above `quoted_at` (already quoted); a failure done as that user says so."""
    return (f"__cfg_actor {quoted_at} || exit 1\n"
            f"{command} || {{ __cfg_rc=$?; if [ -n \"$__cfg_as\" ]; then printf 'configurator: acted as uid %s "
            "in %s, which that user can write; root does not act there\\n' \"$__cfg_uid\" \"$__cfg_d\" >&2; fi; "
            "exit $__cfg_rc; }\n")
