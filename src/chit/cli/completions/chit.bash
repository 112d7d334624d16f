# bash completion for chit                                 -*- shell-script -*-
# Generated from the chit command line by tools/generate.py; do not edit.
# Install: copy to ~/.local/share/bash-completion/completions/chit, or
# `source` it from ~/.bashrc. Needs bash 4.4 or later.

_chit_spec() {  # the command tree: what the command at path $1 takes
    case $1 in
        '')
            _chit_cmds='append chat compact completion config diff doctor export fork gc import index load ls new pick pop projects rename replace restore resume rewind rm search show sources state stats sync tag trash tree undo untag'
            _chit_opts='--json --project -p --version --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args=''
            ;;
        'append')
            _chit_cmds=''
            _chit_opts='--role -r --key -k --model -m --invocation-id --input-tokens --output-tokens --meta --project -p --json --help -h'
            _chit_vals='--role:role -r:role --key:- -k:- --model:- -m:- --invocation-id:- --input-tokens:- --output-tokens:- --meta:- --project:project -p:project'
            _chit_args='ref -'
            ;;
        'chat')
            _chit_cmds=''
            _chit_opts='--new -n --model -m --project -p --help -h'
            _chit_vals='--model:- -m:- --project:project -p:project'
            _chit_args='ref'
            ;;
        'compact')
            _chit_cmds=''
            _chit_opts='--project -p --json --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args='ref'
            ;;
        'completion')
            _chit_cmds=''
            _chit_opts='--json --help -h'
            _chit_vals=''
            _chit_args='shell'
            ;;
        'config')
            _chit_cmds=''
            _chit_opts='--json --help -h'
            _chit_vals=''
            _chit_args=''
            ;;
        'diff')
            _chit_cmds=''
            _chit_opts='--project -p --json --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args='ref ref'
            ;;
        'doctor')
            _chit_cmds=''
            _chit_opts='--repair --json --help -h'
            _chit_vals=''
            _chit_args=''
            ;;
        'export')
            _chit_cmds=''
            _chit_opts='--format -f --output -o --all -a --force --redact --since --until --project -p --json --help -h'
            _chit_vals='--format:format -f:format --output:file -o:file --since:- --until:- --project:project -p:project'
            _chit_args='ref'
            ;;
        'fork')
            _chit_cmds=''
            _chit_opts='--at --title --project -p --json --help -h'
            _chit_vals='--at:- --title:- --project:project -p:project'
            _chit_args='ref'
            ;;
        'gc')
            _chit_cmds=''
            _chit_opts='--older-than --since --until --dry-run --all -a --project -p --json --help -h'
            _chit_vals='--older-than:- --since:- --until:- --project:project -p:project'
            _chit_args=''
            ;;
        'import')
            _chit_cmds=''
            _chit_opts='--from --new-id --project -p --json --help -h'
            _chit_vals='--from:tool --project:project -p:project'
            _chit_args='file'
            ;;
        'index')
            _chit_cmds=''
            _chit_opts='--background --json --help -h'
            _chit_vals=''
            _chit_args=''
            ;;
        'load')
            _chit_cmds=''
            _chit_opts='--no-pager --project -p --json --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args='ref'
            ;;
        'ls')
            _chit_cmds=''
            _chit_opts='--all -a --limit -n --tag -t --state --since --until --sort --quiet -q --agents --project -p --json --jsonl --help -h'
            _chit_vals='--limit:- -n:- --tag:tag -t:tag --state:state --since:- --until:- --sort:sort --project:project -p:project'
            _chit_args=''
            ;;
        'new')
            _chit_cmds=''
            _chit_opts='--key -k --tag -t --meta --system --project -p --json --help -h'
            _chit_vals='--key:- -k:- --tag:tag -t:tag --meta:- --system:- --project:project -p:project'
            _chit_args='-'
            ;;
        'pick')
            _chit_cmds=''
            _chit_opts='--project -p --json --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args=''
            ;;
        'pop')
            _chit_cmds=''
            _chit_opts='--project -p --json --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args='ref'
            ;;
        'projects')
            _chit_cmds='mv rename rm'
            _chit_opts='--all -a --json --jsonl --help -h'
            _chit_vals=''
            _chit_args=''
            ;;
        'projects mv')
            _chit_cmds=''
            _chit_opts='--json --help -h'
            _chit_vals=''
            _chit_args='project dir'
            ;;
        'projects rename')
            _chit_cmds=''
            _chit_opts='--json --help -h'
            _chit_vals=''
            _chit_args='project -'
            ;;
        'projects rm')
            _chit_cmds=''
            _chit_opts='--json --help -h'
            _chit_vals=''
            _chit_args='project'
            ;;
        'rename')
            _chit_cmds=''
            _chit_opts='--project -p --json --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args='ref -'
            ;;
        'replace')
            _chit_cmds=''
            _chit_opts='--project -p --json --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args='ref file'
            ;;
        'restore')
            _chit_cmds=''
            _chit_opts='--json --help -h'
            _chit_vals=''
            _chit_args='trash'
            ;;
        'resume')
            _chit_cmds=''
            _chit_opts='--print --last --project -p --json --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args='ref'
            ;;
        'rewind')
            _chit_cmds=''
            _chit_opts='--invocation --project -p --json --help -h'
            _chit_vals='--invocation:- --project:project -p:project'
            _chit_args='ref -'
            ;;
        'rm')
            _chit_cmds=''
            _chit_opts='--project -p --json --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args='ref...'
            ;;
        'search')
            _chit_cmds=''
            _chit_opts='--limit -n --role -r --tag -t --since --until --each --project -p --json --jsonl --help -h'
            _chit_vals='--limit:- -n:- --role:role -r:role --tag:tag -t:tag --since:- --until:- --project:project -p:project'
            _chit_args='-...'
            ;;
        'show')
            _chit_cmds=''
            _chit_opts='--no-pager --project -p --json --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args='ref'
            ;;
        'sources')
            _chit_cmds='add rm'
            _chit_opts='--json --help -h'
            _chit_vals=''
            _chit_args=''
            ;;
        'sources add')
            _chit_cmds=''
            _chit_opts='--json --help -h'
            _chit_vals=''
            _chit_args='tool file'
            ;;
        'sources rm')
            _chit_cmds=''
            _chit_opts='--json --help -h'
            _chit_vals=''
            _chit_args='tool file'
            ;;
        'state')
            _chit_cmds=''
            _chit_opts='--turn-id --error --set --unset --running --stuck --project -p --json --jsonl --help -h'
            _chit_vals='--turn-id:- --error:- --set:- --unset:- --stuck:- --project:project -p:project'
            _chit_args='ref state'
            ;;
        'stats')
            _chit_cmds=''
            _chit_opts='--since --until --by --all -a --project -p --json --help -h'
            _chit_vals='--since:- --until:- --by:grouping --project:project -p:project'
            _chit_args=''
            ;;
        'sync')
            _chit_cmds='clone init status'
            _chit_opts='--json --help -h'
            _chit_vals=''
            _chit_args=''
            ;;
        'sync clone')
            _chit_cmds=''
            _chit_opts='--json --help -h'
            _chit_vals=''
            _chit_args='-'
            ;;
        'sync init')
            _chit_cmds=''
            _chit_opts='--json --help -h'
            _chit_vals=''
            _chit_args='-'
            ;;
        'sync status')
            _chit_cmds=''
            _chit_opts='--json --help -h'
            _chit_vals=''
            _chit_args=''
            ;;
        'tag')
            _chit_cmds=''
            _chit_opts='--project -p --json --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args='ref tag...'
            ;;
        'trash')
            _chit_cmds=''
            _chit_opts='--all -a --empty --older-than --yes -y --dry-run --everywhere --project -p --json --jsonl --help -h'
            _chit_vals='--older-than:- --project:project -p:project'
            _chit_args=''
            ;;
        'tree')
            _chit_cmds=''
            _chit_opts='--all -a --project -p --json --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args='ref'
            ;;
        'undo')
            _chit_cmds=''
            _chit_opts='--project -p --json --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args='ref'
            ;;
        'untag')
            _chit_cmds=''
            _chit_opts='--project -p --json --help -h'
            _chit_vals='--project:project -p:project'
            _chit_args='ref tag...'
            ;;
    esac
}

_chit_static() {  # words: the fixed values of kind $1
    case $1 in
        format) words='json jsonl md html txt' ;;
        role) words='system user assistant tool' ;;
        state) words='idle running error' ;;
        shell) words='bash zsh fish' ;;
        sort) words='updated created turns tokens' ;;
        grouping) words='project model day' ;;
        tool) words='claude-code codex chatgpt llm gemini opencode' ;;
        *) words='' ;;
    esac
}

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
