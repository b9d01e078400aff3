# bash completion for ipnpm (bash >= 4.2).
# Install: `source completions/ipnpm.bash` in ~/.bashrc, or copy it to
# ${XDG_DATA_HOME:-~/.local/share}/bash-completion/completions/ipnpm
# Generated from ipnpm's click commands by `python -m ipnpm.cli.completion completions/`:
# edit ipnpm/cli/completion.py, not this file.
_ipnpm_options() { # $1: node ("" = ipnpm, "ipfs store") -> its option names
    REPLY=
    case $1 in
        '') REPLY='--ipnpm-store --ipnpm-kubo --ipnpm-gateway --ipnpm-index --ipnpm-seed --ipnpm-no-seed --ipnpm-seed-private --ipnpm-pin --ipnpm-jobs --ipnpm-npm --ipnpm-cidlock --ipnpm-offline --ipnpm-debug' ;;
        'ipfs') REPLY='--version -h --help' ;;
        'ipfs cid') REPLY='-h --help' ;;
        'ipfs config') REPLY='--json -h --help' ;;
        'ipfs doctor') REPLY='--json -h --help' ;;
        'ipfs fetch') REPLY='--json -h --help' ;;
        'ipfs index') REPLY='-h --help' ;;
        'ipfs index add') REPLY='--key --deps -h --help' ;;
        'ipfs index publish') REPLY='--key --lifetime --ttl -h --help' ;;
        'ipfs index republish') REPLY='--lifetime --ttl -h --help' ;;
        'ipfs index resolve') REPLY='-h --help' ;;
        'ipfs index sync') REPLY='--key --limit -h --help' ;;
        'ipfs seed') REPLY='--store -h --help' ;;
        'ipfs serve') REPLY='--host --port --no-auth --allow-writes-as-operator --allow-host -h --help' ;;
        'ipfs store') REPLY='-h --help' ;;
        'ipfs store verify') REPLY='-h --help' ;;
    esac
}

_ipnpm_commands() { # $1: node -> its subcommands
    REPLY=
    case $1 in
        '') REPLY='ipfs' ;;
        'ipfs') REPLY='cid config doctor fetch index seed serve store' ;;
        'ipfs index') REPLY='add publish republish resolve sync' ;;
        'ipfs store') REPLY='verify' ;;
    esac
}

_ipnpm_value() { # $1: node, $2: option -> flag, none, dir, file or 'words A B'
    case $1/$2 in
        '/--ipnpm-store') REPLY='dir' ;;
        '/--ipnpm-kubo') REPLY='words auto off' ;;
        '/--ipnpm-gateway'|'/--ipnpm-index'|'/--ipnpm-seed-private'|'/--ipnpm-jobs'|'ipfs index add/--key'|'ipfs index publish/--key'|'ipfs index publish/--lifetime'|'ipfs index publish/--ttl'|'ipfs index republish/--lifetime'|'ipfs index republish/--ttl'|'ipfs index sync/--key'|'ipfs index sync/--limit'|'ipfs serve/--host'|'ipfs serve/--port'|'ipfs serve/--allow-host') REPLY='none' ;;
        '/--ipnpm-npm') REPLY='file' ;;
        '/--ipnpm-cidlock') REPLY='words auto yes no' ;;
        *) REPLY=flag ;;
    esac
}

_ipnpm_args() { # $1: node -> file, or none
    case $1 in 'ipfs cid'|'ipfs seed') REPLY=file ;; *) REPLY=none ;; esac
}

_ipnpm_complete_value() { # $1: kind, $2: the value typed so far
    case $1 in
        dir | file)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen "-${1:0:1}" -- "$2") ;;
        words\ *) mapfile -t COMPREPLY < <(compgen -W "${1#words }" -- "$2") ;;
        *) compopt +o default 2>/dev/null ;;  # a URL or a number: no file names
    esac
    _ipnpm_trim "$2"
}

_ipnpm_trim() { # bash splits words at = and :, and readline replaces only the last piece
    local typed=${COMP_WORDS[COMP_CWORD]-$1} i
    [[ $typed == [=:] ]] && typed=
    [[ $1 == *"$typed" ]] || return 0
    local prefix=${1%"$typed"}
    for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=${COMPREPLY[i]#"$prefix"}; done
}

_ipnpm_npm() { # $1: index of the npm command word, $2: npm. npm's own completion protocol.
    local -a args=(npm "${words[@]:$1:c-$1+1}")
    local line="${args[*]}" out
    out=$(COMP_CWORD=$((c - $1 + 1)) COMP_LINE=$line COMP_POINT=${#line} \
        command "$2" completion -- "${args[@]}" 2>/dev/null)
    if [[ -z $out && $cur == -* ]]; then # npm 11 completes no option names; its usage lists them
        out=$(command "$2" "${words[$1]}" --help 2>/dev/null | grep -oE -- '--[a-z0-9][a-z0-9-]*')
        out=$(compgen -W "$out" -- "$cur" | sort -u)
    fi
    [[ -n $out ]] && mapfile -t COMPREPLY <<<"$out"
    _ipnpm_trim "$cur"
}

_ipnpm_node() { # $1: index after "ipfs"; walks the ipfs tree up to the cursor
    local node=ipfs j=$1
    while ((j < c)); do
        case ${words[j]} in
            -*=*) ;;
            -*)
                _ipnpm_value "$node" "${words[j]}"
                if [[ $REPLY != flag ]]; then
                    ((j + 1 == c)) && { _ipnpm_complete_value "$REPLY" "$cur"; return; }
                    ((j++))
                fi ;;
            *)
                _ipnpm_commands "$node"
                [[ " $REPLY " == *" ${words[j]} "* ]] && node+=" ${words[j]}" ;;
        esac
        ((j++))
    done
    if [[ $cur == -* ]]; then
        _ipnpm_options "$node"
    else
        _ipnpm_commands "$node"
        [[ -z $REPLY ]] && { _ipnpm_args "$node"; _ipnpm_complete_value "$REPLY" "$cur"; return; }
    fi
    mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
}

_ipnpm() {
    local IFS=$' \t\n' REPLY line
    local -a words
    COMPREPLY=()
    if [[ -n ${COMP_LINE+set} ]]; then # split the line ourselves: COMP_WORDS breaks at = and :
        line=${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}
        read -ra words <<<"$line"
        [[ $line == *[[:space:]] ]] && words+=("")
    else
        words=("${COMP_WORDS[@]:0:COMP_CWORD+1}")
    fi
    local c=$((${#words[@]} - 1)) i=1 npm=${IPNPM_NPM:-npm}
    local cur=${words[c]}
    while ((i < c)); do # ipnpm's options; the first other word is the npm command, or ipfs
        case ${words[i]} in
            --ipnpm-npm=*) npm=${words[i]#--ipnpm-npm=} ;;
            -*=*) ;;
            -*)
                _ipnpm_value "" "${words[i]}"
                if [[ $REPLY != flag ]]; then
                    ((i + 1 == c)) && { _ipnpm_complete_value "$REPLY" "$cur"; return; }
                    [[ ${words[i]} == --ipnpm-npm ]] && npm=${words[i + 1]}
                    ((i++))
                fi ;;
            *) break ;;
        esac
        ((i++))
    done
    if ((i < c)) && [[ ${words[i]} == ipfs ]]; then
        _ipnpm_node $((i + 1))
    elif ((i < c)); then
        _ipnpm_npm "$i" "$npm"
    elif [[ $cur == -*=* ]]; then
        _ipnpm_value "" "${cur%%=*}"
        _ipnpm_complete_value "$REPLY" "${cur#*=}"
    elif [[ $cur == -* ]]; then
        _ipnpm_options ""
        mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
    else
        _ipnpm_npm "$c" "$npm"
        [[ ipfs == "$cur"* ]] && COMPREPLY+=(ipfs)
    fi
}

complete -o default -F _ipnpm ipnpm
