"""Shell completion scripts for bash, zsh and fish, generated from the live
app (through `clispec`) by tools/generate.py into src/chit/cli/completions/,
shipped as package data and printed by `chit completion SHELL`.

Each script holds the command tree as data (commands, options, what each
option and argument takes) and a small engine that finds, from the words
typed so far, which command is being completed and what comes next. Only
values that live in the store are asked of chit at completion time:
`chit __complete ref|trash|tag|project [--project NAME] [-- PREFIX]`, which
is fast, prints one `value<TAB>description` per line, and never prints an
error (see `chit.cli.complete`).
"""

from __future__ import annotations

from chit.cli.completions import FILES as FILES  # where each script is shipped
from clispec import Cmd, commands, option_names, static_choices

HEADER = "Generated from the chit command line by tools/generate.py; do not edit."


class _Spec:
    """The command tree, with synthetic kinds for Enum/Literal choices."""

    def __init__(self) -> None:
        self.commands = commands()
        self.static = dict(static_choices())
        self._choice_keys: dict[tuple[str, ...], str] = {}

    def kind(self, kind: str | None, choices: tuple[str, ...] = ()) -> str:
        if kind == "choice":
            key = self._choice_keys.setdefault(choices, f"choices{len(self._choice_keys) + 1}")
            self.static[key] = choices
            return key
        return kind or "-"

    def args(self, cmd: Cmd) -> list[str]:
        """Kinds of the positional words in order; a last `kind...` repeats."""
        out = []
        for arg in cmd.args:
            kinds = [self.kind(k, arg.choices) for k in arg.kinds]
            if arg.variadic:
                kinds[-1] += "..."
            out += kinds
        return out

    def valued(self, cmd: Cmd) -> list[str]:
        return [f"{name}:{self.kind(o.kind, o.choices)}" for o in cmd.options if o.takes_value for name in o.names]


def _sq(text: str) -> str:
    """A POSIX/zsh single-quoted word."""
    return "'" + text.replace("'", "'\\''") + "'"


def _fish_q(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_words(items: list[str]) -> str:
    return " ".join(_fish_q(i) for i in items)


# -- bash -------------------------------------------------------------------------

_BASH_ENGINE = r"""
_chit_kind() {  # kind of value option $1 takes ('' for a flag)
    local pair
    kind=''
    for pair in $_chit_vals; do
        if [[ ${pair%%:*} == "$1" ]]; then
            kind=${pair#*:}
            return
        fi
    done
}

_chit_values() {  # fill COMPREPLY with values of kind $1 for the word $cur
    local line value
    local -a lines=() extra=()
    COMPREPLY=()
    [[ -n $project ]] && extra=(--project "$project")
    case $1 in
        ref|trash)
            mapfile -t lines < <("$prog" __complete "$1" "${extra[@]}" -- "$cur" 2>/dev/null)
            if (( ${#lines[@]} == 1 )); then
                COMPREPLY=("${lines[0]%%$'\t'*}")
            else
                for line in "${lines[@]}"; do
                    COMPREPLY+=("${line%%$'\t'*}  ${line#*$'\t'}")
                done
                compopt -o nosort 2>/dev/null
            fi
            ;;
        tag|project)
            mapfile -t lines < <("$prog" __complete "$1" "${extra[@]}" 2>/dev/null)
            for line in "${lines[@]}"; do
                value=${line%%$'\t'*}
                if [[ $value == "$cur"* ]]; then
                    printf -v value '%q' "$value"
                    COMPREPLY+=("$value")
                fi
            done
            ;;
        file)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            ;;
        dir)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            ;;
        *)
            _chit_static "$1"
            [[ -n $words ]] && mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
            ;;
    esac
}

_chit() {
    local cur=${COMP_WORDS[COMP_CWORD]} prog=${COMP_WORDS[0]}
    local _chit_cmds _chit_opts _chit_vals _chit_args
    local cmdpath='' word skip='' kind='' project='' words=''
    local -i i n=0
    [[ $prog == '~/'* ]] && prog=$HOME/${prog#'~/'}
    _chit_spec ''
    for (( i = 1; i < COMP_CWORD; i++ )); do
        word=${COMP_WORDS[i]}
        [[ $word == '=' ]] && continue
        if [[ -n $skip ]]; then
            [[ $skip == project ]] && project=$word
            skip=''
            continue
        fi
        case $word in
            --*=*) [[ ${word%%=*} == --project ]] && project=${word#*=} ;;
            -*) _chit_kind "$word"; skip=$kind ;;
            *)
                if (( n == 0 )) && [[ " $_chit_cmds " == *" $word "* ]]; then
                    cmdpath=${cmdpath:+$cmdpath }$word
                    _chit_spec "$cmdpath"
                else
                    n=n+1
                fi
                ;;
        esac
    done
    [[ $cur == '=' ]] && cur=''
    if [[ -n $skip ]]; then
        kind=$skip
    elif [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$_chit_opts" -- "$cur")
        return 0
    elif (( n == 0 )) && [[ -n $_chit_cmds ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$_chit_cmds" -- "$cur")
        return 0
    else
        local -a kinds=($_chit_args)
        kind=''
        if (( n < ${#kinds[@]} )); then
            kind=${kinds[n]}
        elif (( ${#kinds[@]} )) && [[ ${kinds[${#kinds[@]}-1]} == *... ]]; then
            kind=${kinds[${#kinds[@]}-1]}
        fi
        kind=${kind%...}
    fi
    _chit_values "$kind"
    return 0
}

complete -F _chit chit
"""


def bash() -> str:
    spec = _Spec()
    out = [
        "# bash completion for chit                                 -*- shell-script -*-",
        f"# {HEADER}",
        "# Install: copy to ~/.local/share/bash-completion/completions/chit, or",
        "# `source` it from ~/.bashrc. Needs bash 4.4 or later.",
        "",
        "_chit_spec() {  # the command tree: what the command at path $1 takes",
        "    case $1 in",
    ]
    for cmd in spec.commands:
        out.append(f"        {_sq(cmd.name)})")
        out.append(f"            _chit_cmds={_sq(' '.join(cmd.subcommands))}")
        out.append(f"            _chit_opts={_sq(' '.join(option_names(cmd)))}")
        out.append(f"            _chit_vals={_sq(' '.join(spec.valued(cmd)))}")
        out.append(f"            _chit_args={_sq(' '.join(spec.args(cmd)))}")
        out.append("            ;;")
    out += ["    esac", "}", "", "_chit_static() {  # words: the fixed values of kind $1", "    case $1 in"]
    for key, values in spec.static.items():
        out.append(f"        {key}) words={_sq(' '.join(values))} ;;")
    out += ["        *) words='' ;;", "    esac", "}"]
    return "\n".join(out) + "\n" + _BASH_ENGINE


# -- zsh --------------------------------------------------------------------------

_ZSH_ENGINE = r"""
_chit_kind() {  # REPLY: kind of value option $1 takes ('' for a flag)
  local pair
  REPLY=''
  for pair in $_chit_vals; do
    if [[ ${pair%%:*} == $1 ]]; then
      REPLY=${pair#*:}
      return
    fi
  done
}

_chit_values() {  # offer values of kind $1
  local line prog=${words[1]}
  local -a lines ids descs extra
  [[ -n $project ]] && extra=(--project $project)
  case $1 in
    (ref|trash)
      lines=("${(@f)$($prog __complete $1 $extra -- ${(Q)PREFIX} 2>/dev/null)}")
      for line in $lines; do
        [[ -z $line ]] && continue
        ids+=("${line%%$'\t'*}")
        descs+=("${line%%$'\t'*}  -- ${line#*$'\t'}")
      done
      (( ${#ids} )) && compadd -V sessions -l -d descs -a ids
      ;;
    (tag|project)
      lines=("${(@f)$($prog __complete $1 $extra 2>/dev/null)}")
      for line in $lines; do
        [[ -n $line ]] && ids+=("${line%%$'\t'*}")
      done
      (( ${#ids} )) && compadd -a ids
      ;;
    (file) _files ;;
    (dir) _files -/ ;;
    (*)
      _chit_static $1
      (( ${#reply} )) && compadd -a reply
      ;;
  esac
}

_chit() {
  local -a _chit_subs _chit_cmds _chit_opts _chit_vals _chit_args reply
  local cmdpath='' word skip='' kind='' project='' REPLY
  integer i n=0
  _chit_spec ''
  for (( i = 2; i < CURRENT; i++ )); do
    word=${words[i]}
    if [[ -n $skip ]]; then
      [[ $skip == project ]] && project=${(Q)word}
      skip=''
      continue
    fi
    case $word in
      (--*=*) [[ ${word%%=*} == --project ]] && project=${(Q)${word#*=}} ;;
      (-*) _chit_kind $word; skip=$REPLY ;;
      (*)
        if (( n == 0 && ${_chit_subs[(Ie)$word]} )); then
          cmdpath=${cmdpath:+$cmdpath }$word
          _chit_spec $cmdpath
        else
          n+=1
        fi
        ;;
    esac
  done
  if [[ -n $skip ]]; then
    kind=$skip
  elif [[ $PREFIX == -* ]]; then
    _describe -t options 'option' _chit_opts
    return
  elif (( n == 0 && ${#_chit_subs} )); then
    _describe -t commands 'chit command' _chit_cmds
    return
  else
    if (( n < ${#_chit_args} )); then
      kind=${_chit_args[n+1]}
    elif (( ${#_chit_args} )) && [[ ${_chit_args[-1]} == *... ]]; then
      kind=${_chit_args[-1]}
    fi
    kind=${kind%...}
  fi
  _chit_values $kind
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _chit "$@"
else
  compdef _chit chit
fi
"""


def _zsh_array(items: list[str]) -> str:
    return "(" + " ".join(_sq(i) for i in items) + ")"


def _describe_entry(name: str, text: str) -> str:
    return name.replace(":", "\\:") + (":" + text if text else "")


def zsh() -> str:
    spec = _Spec()
    out = [
        "#compdef chit",
        "# zsh completion for chit.",
        f"# {HEADER}",
        "# Install: put this file, named _chit, in a directory on $fpath before",
        "# compinit runs (e.g. fpath=(~/.zfunc $fpath) in ~/.zshrc).",
        "",
        "_chit_spec() {  # the command tree: what the command at path $1 takes",
        "  case $1 in",
    ]
    by_path = {c.path: c for c in spec.commands}
    for cmd in spec.commands:
        subs = [by_path[(*cmd.path, s)] for s in cmd.subcommands]
        out.append(f"    ({_sq(cmd.name)})")
        out.append(f"      _chit_subs={_zsh_array(list(cmd.subcommands))}")
        out.append(f"      _chit_cmds={_zsh_array([_describe_entry(s.path[-1], s.summary) for s in subs])}")
        opts = [_describe_entry(n, o.help) for o in cmd.options for n in o.names]
        opts += [_describe_entry("--help", "Show the help and exit."), _describe_entry("-h", "Show the help and exit.")]
        out.append(f"      _chit_opts={_zsh_array(opts)}")
        out.append(f"      _chit_vals={_zsh_array(spec.valued(cmd))}")
        out.append(f"      _chit_args={_zsh_array(spec.args(cmd))}")
        out.append("      ;;")
    out += ["  esac", "}", "", "_chit_static() {  # reply: the fixed values of kind $1", "  case $1 in"]
    for key, values in spec.static.items():
        out.append(f"    ({key}) reply={_zsh_array(list(values))} ;;")
    out += ["    (*) reply=() ;;", "  esac", "}"]
    return "\n".join(out) + "\n" + _ZSH_ENGINE


# -- fish -------------------------------------------------------------------------

_FISH_ENGINE = r"""
function __chit_kind --description 'kind of value an option takes'
    for pair in $__chit_vals
        if test (string split -m1 -- : $pair)[1] = $argv[1]
            string split -m1 -- : $pair | tail -n 1
            return
        end
    end
end

function __chit_values --description 'values of a kind' --argument-names kind cur project
    set -l extra
    test -n "$project"; and set extra --project $project
    switch "$kind"
        case ref trash
            $__chit_prog __complete $kind $extra -- $cur 2>/dev/null
        case tag project
            $__chit_prog __complete $kind $extra 2>/dev/null
        case file
            __fish_complete_path $cur
        case dir
            __fish_complete_directories $cur
        case '*'
            __chit_static $kind
    end
end

function __chit_complete --description 'complete a chit command line'
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -g __chit_prog $tokens[1]
    __chit_spec ''
    set -l cmdpath ''
    set -l skip ''
    set -l project ''
    set -l n 0
    for word in $tokens[2..-1]
        if test -n "$skip"
            test "$skip" = project; and set project $word
            set skip ''
            continue
        end
        switch $word
            case '--*=*'
                string match -q -- '--project=*' $word; and set project (string replace -- '--project=' '' $word)
            case '-*'
                set skip (__chit_kind $word)
            case '*'
                if test $n -eq 0; and contains -- $word $__chit_subs
                    set cmdpath (string trim -- "$cmdpath $word")
                    __chit_spec $cmdpath
                else
                    set n (math $n + 1)
                end
        end
    end
    set -l kind ''
    if test -n "$skip"
        set kind $skip
    else if string match -q -- '-*' $cur
        printf '%s\n' $__chit_opts
        return
    else if test $n -eq 0; and test (count $__chit_subs) -gt 0
        printf '%s\n' $__chit_cmds
        return
    else
        set -l count (count $__chit_args)
        if test $n -lt $count
            set kind $__chit_args[(math $n + 1)]
        else if test $count -gt 0; and string match -q -- '*...' $__chit_args[-1]
            set kind $__chit_args[-1]
        end
        set kind (string replace -- '...' '' "$kind")
    end
    __chit_values "$kind" $cur $project
end

complete -c chit -f -k -a '(__chit_complete)'
"""


def fish() -> str:
    spec = _Spec()
    out = [
        "# fish completion for chit.",
        f"# {HEADER}",
        "# Install: copy to ~/.config/fish/completions/chit.fish",
        "",
        "function __chit_spec --description 'what the chit command at path $argv[1] takes'",
        "    switch \"$argv[1]\"",
    ]
    by_path = {c.path: c for c in spec.commands}
    for cmd in spec.commands:
        subs = [by_path[(*cmd.path, s)] for s in cmd.subcommands]
        out.append(f"        case {_fish_q(cmd.name)}")
        out.append(f"            set -g __chit_subs {_fish_words(list(cmd.subcommands))}".rstrip())
        described = [s.path[-1] + "\t" + s.summary for s in subs]
        out.append(f"            set -g __chit_cmds {_fish_words(described)}".rstrip())
        opts = [n + "\t" + o.help for o in cmd.options for n in o.names] + ["--help\tShow the help and exit.", "-h\tShow the help and exit."]
        out.append(f"            set -g __chit_opts {_fish_words(opts)}")
        out.append(f"            set -g __chit_vals {_fish_words(spec.valued(cmd))}".rstrip())
        out.append(f"            set -g __chit_args {_fish_words(spec.args(cmd))}".rstrip())
    out += ["    end", "end", "", "function __chit_static --description 'the fixed values of a kind'", "    switch $argv[1]"]
    for key, values in spec.static.items():
        out.append(f"        case {key}")
        out.append(f"            printf '%s\\n' {' '.join(_fish_q(v) for v in values)}")
    out += ["    end", "end"]
    return "\n".join(out) + "\n" + _FISH_ENGINE


SCRIPTS = {"bash": bash, "zsh": zsh, "fish": fish}  # one per shell of chit.cli.completions.FILES
