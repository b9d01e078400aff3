"""Shell completion for ipnpm (bash, zsh, fish), generated from the click commands.

    python -m ipnpm.cli.completion completions/

writes ``ipnpm.bash``, ``_ipnpm`` (zsh) and ``ipnpm.fish``. Each script completes ipnpm's own
options before the npm command, ``ipfs`` and npm's command words in the command position, the
``ipnpm ipfs …`` tree after ``ipfs``, and hands every later word to npm's own completion
(``npm completion``, with ipnpm's words stripped). npm 11 completes no option names, so for an
option word it answers nothing and the scripts fall back to the ``--names`` of ``npm CMD --help``.

The tables come from click; the logic is the templates below, the same algorithm in each shell.
Only click and ipnpm's command modules are imported, and only when generating.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

FILES = {"bash": "ipnpm.bash", "zsh": "_ipnpm", "fish": "ipnpm.fish"}
_HEADER = (
    "# Generated from ipnpm's click commands by `python -m ipnpm.cli.completion completions/`:\n"
    "# edit ipnpm/cli/completion.py, not this file.\n"
)


@dataclass(frozen=True)
class Opt:
    names: tuple[str, ...]
    help: str
    value: str  # "flag", "none", "dir", "file", or "words a b" (the accepted values)


@dataclass(frozen=True)
class Node:
    """One place in the command tree: "" is ipnpm itself, "ipfs store" a subgroup."""

    path: str
    options: tuple[Opt, ...]
    commands: tuple[tuple[str, str], ...]  # (name, short help)
    files: bool  # its arguments are files


def _summary(text: str | None) -> str:
    first = " ".join((text or "").strip().split("\n\n")[0].split())
    return first.split(". ")[0].rstrip(".")


def _value(param: click.Option) -> str:
    if param.is_flag or param.count:
        return "flag"
    if isinstance(param.type, click.Path):
        return "file" if param.type.file_okay else "dir"
    if isinstance(param.type, click.Choice):
        return "words " + " ".join(map(str, param.type.choices))
    metavar = param.metavar or ""
    if metavar in ("DIR", "PATH"):
        return "dir" if metavar == "DIR" else "file"
    words = [word for word in metavar.split("|") if word.islower()]  # URL|auto|off
    return "words " + " ".join(words) if words else "none"


def _node(path: str, command: click.Command, ctx: click.Context) -> Node:
    params = command.get_params(ctx)
    options = tuple(
        Opt((*_ordered(p.opts), *_ordered(p.secondary_opts)), _summary(p.help), _value(p))
        for p in params
        if isinstance(p, click.Option) and not p.hidden
    )
    files = any(isinstance(p, click.Argument) and isinstance(p.type, click.Path) for p in params)
    commands = tuple(
        (name, _summary(child.short_help or child.help)) for name, child in _children(command, ctx)
    )
    return Node(path, options, commands, files)


def _ordered(names: Sequence[str]) -> list[str]:
    # Short names first; click builds the help option's names from a set.
    return sorted(names, key=lambda name: (len(name), name))


def _children(command: click.Command, ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            child = command.get_command(ctx, name)
            if child is not None and not child.hidden:
                yield name, child


def _tree(path: str, command: click.Command, parent: click.Context | None) -> Iterator[Node]:
    # A child context inherits settings such as help_option_names, as when click runs.
    ctx = click.Context(command, parent, path.rsplit(" ", 1)[-1], **command.context_settings)
    yield _node(path, command, ctx)
    for name, child in _children(command, ctx):
        yield from _tree(f"{path} {name}", child, ctx)


def nodes() -> list[Node]:
    """ipnpm's own options (``--ipnpm-*``), then every node of ``ipnpm ipfs …``."""
    from ipnpm.cli.ipfs import ipfs
    from ipnpm.cli.own_options import OPTIONS, PREFIX

    options = tuple(Opt((PREFIX + o.name,), o.help, o.value) for o in OPTIONS)
    if not any(f"{PREFIX}npm" in opt.names for opt in options):
        raise RuntimeError("the scripts read --ipnpm-npm PATH: update the templates with the CLI")
    ctx = click.Context(ipfs, info_name="ipnpm", **ipfs.context_settings)
    ipfs_entry = ("ipfs", _summary(ipfs.help))
    return [Node("", options, (ipfs_entry,), False), *_tree("ipfs", ipfs, ctx)]


# -- tables, one case statement per question, in each shell's syntax ---------------------------


def _sq(text: str) -> str:
    """Single-quoted for bash and zsh."""
    return "'" + text.replace("'", "'\\''") + "'"


def _fq(text: str) -> str:
    """Single-quoted for fish."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _names(node: Node) -> list[str]:
    return [name for opt in node.options for name in opt.names]


def _value_rows(tree: Sequence[Node]) -> dict[str, list[str]]:
    """kind -> the ``node/option`` words of every option that takes such a value."""
    rows: dict[str, list[str]] = {}
    for node in tree:
        for opt in node.options:
            if opt.value != "flag":
                rows.setdefault(opt.value, []).extend(f"{node.path}/{n}" for n in opt.names)
    return rows


def _posix_tables(tree: Sequence[Node], *, described: bool) -> str:
    """bash and zsh: REPLY holds names (space-separated); zsh also gets reply=(name:help)."""

    def described_list(pairs: list[tuple[str, str]]) -> str:
        if not described:
            return ""
        return "; reply=(" + " ".join(_sq(f"{name}:{text}") for name, text in pairs) + ")"

    reset = "    REPLY= reply=()" if described else "    REPLY="

    options, commands = [], []
    for node in tree:
        pairs = [(name, opt.help) for opt in node.options for name in opt.names]
        options.append(
            f"        {_sq(node.path)}) REPLY={_sq(' '.join(_names(node)))}"
            f"{described_list(pairs)} ;;"
        )
        if node.commands:
            names = " ".join(name for name, _ in node.commands)
            commands.append(
                f"        {_sq(node.path)}) REPLY={_sq(names)}"
                f"{described_list(list(node.commands))} ;;"
            )
    values = [
        f"        {'|'.join(map(_sq, words))}) REPLY={_sq(kind)} ;;"
        for kind, words in _value_rows(tree).items()
    ]
    files = "|".join(_sq(node.path) for node in tree if node.files) or "''"
    return "\n".join(
        [
            '_ipnpm_options() { # $1: node ("" = ipnpm, "ipfs store") -> its option names',
            reset,
            "    case $1 in",
            *options,
            "    esac\n}\n",
            "_ipnpm_commands() { # $1: node -> its subcommands",
            reset,
            "    case $1 in",
            *commands,
            "    esac\n}\n",
            "_ipnpm_value() { # $1: node, $2: option -> flag, none, dir, file or 'words A B'",
            "    case $1/$2 in",
            *values,
            "        *) REPLY=flag ;;\n    esac\n}\n",
            "_ipnpm_args() { # $1: node -> file, or none",
            f"    case $1 in {files}) REPLY=file ;; *) REPLY=none ;; esac\n}}",
        ]
    )


def _fish_tables(tree: Sequence[Node]) -> str:
    def case(patterns: list[str], lines: list[str]) -> list[str]:
        return [
            "        case " + " ".join(map(_fq, patterns)),
            *(f"            {x}" for x in lines),
        ]

    def rows(pairs: list[tuple[str, str]]) -> list[str]:
        return [f"printf '%s\\t%s\\n' {_fq(name)} {_fq(text)}" for name, text in pairs]

    options, commands, values = [], [], []
    for node in tree:
        pairs = [(name, opt.help) for opt in node.options for name in opt.names]
        options += case([node.path], rows(pairs))
        if node.commands:
            commands += case([node.path], rows(list(node.commands)))
    for kind, words in _value_rows(tree).items():
        values += case(words, [f"echo {_fq(kind)}"])
    files = [node.path for node in tree if node.files]
    return "\n".join(
        [
            "function __ipnpm_options --argument-names node # -> name<TAB>help",
            "    switch $node",
            *options,
            "    end\nend\n",
            "function __ipnpm_commands --argument-names node # -> name<TAB>help",
            "    switch $node",
            *commands,
            "    end\nend\n",
            "function __ipnpm_value --argument-names node option # -> flag, none, dir, file, 'words A B'",  # noqa: E501
            "    switch $node/$option",
            *values,
            "        case '*'\n            echo flag",
            "    end\nend\n",
            "function __ipnpm_args --argument-names node # -> file, or none",
            "    switch $node",
            *(case(files, ["echo file"]) if files else []),
            "        case '*'\n            echo none",
            "    end\nend",
        ]
    )


# -- the logic -----------------------------------------------------------------------------------

_BASH = r"""# bash completion for ipnpm (bash >= 4.2).
# Install: `source completions/ipnpm.bash` in ~/.bashrc, or copy it to
# ${XDG_DATA_HOME:-~/.local/share}/bash-completion/completions/ipnpm
@HEADER@
@TABLES@

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
"""

_ZSH = r"""#compdef ipnpm
# zsh completion for ipnpm.
# Install: copy to a directory in $fpath as _ipnpm (before compinit), or `source` it after
# compinit.
@HEADER@
@TABLES@

_ipnpm_complete_value() { # $1: kind; the value is what is left in PREFIX
    case $1 in
        (dir) _files -/ ;;
        (file) _files ;;
        (words\ *) compadd -- ${=1#words } ;;
        (*) _message -e values 'value' ;;
    esac
}

_ipnpm_npm() { # $1: index of the npm command word, $2: npm. npm's own completion protocol.
    local -a args=(npm "${(@)w[$1,-1]}")
    local line="${(j: :)args}"
    reply=(${(f)"$(COMP_CWORD=$(( $#args - 1 )) COMP_LINE=$line COMP_POINT=$#line \
        command $2 completion -- "${args[@]}" 2>/dev/null)"})
    if (( ! $#reply )) && [[ $cur == -* ]]; then # npm 11 completes no option names
        reply=(${(fu)"$(command $2 $w[$1] --help 2>/dev/null |
            grep -oE -- '--[a-z0-9][a-z0-9-]*')"})
    fi
}

_ipnpm_node() { # $1: index after "ipfs"; walks the ipfs tree up to the cursor
    local node=ipfs
    integer j=$1
    while (( j < c )); do
        case $w[j] in
            (-*=*) ;;
            (-*)
                _ipnpm_value $node $w[j]
                if [[ $REPLY != flag ]]; then
                    (( j + 1 == c )) && { _ipnpm_complete_value $REPLY; return }
                    (( j++ ))
                fi ;;
            (*)
                _ipnpm_commands $node
                [[ " $REPLY " == *" $w[j] "* ]] && node+=" $w[j]" ;;
        esac
        (( j++ ))
    done
    if [[ $cur == -* ]]; then
        _ipnpm_options $node
        _describe -t options 'ipnpm ipfs option' reply
    else
        _ipnpm_commands $node
        if (( $#reply )); then
            _describe -t commands 'ipnpm ipfs command' reply
        else
            _ipnpm_args $node
            _ipnpm_complete_value $REPLY
        fi
    fi
}

_ipnpm() {
    # No `emulate -L zsh` here: _describe and _files need the options _main_complete set.
    local -a w reply
    w=("${(@Q)words[1,CURRENT-1]}" "${(Q)PREFIX}")
    local cur=$w[-1] npm=${IPNPM_NPM:-npm} REPLY
    integer c=$#w i=2
    while (( i < c )); do # ipnpm's options; the first other word is the npm command, or ipfs
        case $w[i] in
            (--ipnpm-npm=*) npm=${w[i]#--ipnpm-npm=} ;;
            (-*=*) ;;
            (-*)
                _ipnpm_value '' $w[i]
                if [[ $REPLY != flag ]]; then
                    (( i + 1 == c )) && { _ipnpm_complete_value $REPLY; return }
                    [[ $w[i] == --ipnpm-npm ]] && npm=$w[i+1]
                    (( i++ ))
                fi ;;
            (*) break ;;
        esac
        (( i++ ))
    done
    if (( i < c )) && [[ $w[i] == ipfs ]]; then
        _ipnpm_node $(( i + 1 ))
    elif (( i < c )); then
        _ipnpm_npm $i $npm
        if (( $#reply )); then compadd -a reply; else _files; fi
    elif [[ $cur == -*=* ]]; then
        _ipnpm_value '' ${cur%%=*}
        compset -P '*='
        _ipnpm_complete_value $REPLY
    elif [[ $cur == -* ]]; then
        _ipnpm_options ''
        _describe -t options 'ipnpm option' reply
    else
        _ipnpm_npm $c $npm
        compadd -a reply
        _ipnpm_commands ''
        _describe -t commands 'ipnpm command' reply
    fi
}

if [[ $funcstack[1] == _ipnpm ]]; then
    _ipnpm "$@"  # autoloaded from $fpath: this file is the function's first call
else
    compdef _ipnpm ipnpm
fi
"""

_FISH = r"""# fish completion for ipnpm.
# Install: copy to ~/.config/fish/completions/ipnpm.fish
@HEADER@
@TABLES@

function __ipnpm_complete_value --argument-names kind value prefix
    switch $kind
        case dir
            __fish_complete_directories $value | string replace -r -- '^' "$prefix"
        case file
            __fish_complete_path $value | string replace -r -- '^' "$prefix"
        case 'words *'
            string split ' ' -- (string replace -- 'words ' '' $kind) |
                string replace -r -- '^' "$prefix"
    end
end

function __ipnpm_npm --argument-names npm # then the npm command line: npm's own protocol
    set -l args npm $argv[2..-1]
    set -l line (string join ' ' -- $args)
    set -l out (env COMP_CWORD=(math (count $args) - 1) COMP_LINE="$line" \
        COMP_POINT=(string length -- "$line") COMP_FISH=true $npm completion -- $args 2>/dev/null)
    if test (count $out) -eq 0; and string match -q -- '-*' "$args[-1]"
        # npm 11 completes no option names; its usage text lists them
        set out (command $npm $args[2] --help 2>/dev/null |
            string match -ar -- '--[a-z0-9][a-z0-9-]*' | sort -u)
    end
    test (count $out) -gt 0; and printf '%s\n' $out
end

function __ipnpm_node --argument-names npm # then the words after "ipfs", the last at the cursor
    set -l w $argv[2..-1]
    set -l node ipfs
    set -l j 1
    while test $j -lt (count $w)
        switch $w[$j]
            case '-*=*'
            case '-*'
                set -l kind (__ipnpm_value $node $w[$j])
                if test "$kind" != flag
                    if test (math $j + 1) -eq (count $w)
                        __ipnpm_complete_value $kind $w[-1] ''
                        return
                    end
                    set j (math $j + 1)
                end
            case '*'
                if contains -- $w[$j] (__ipnpm_commands $node | string replace -r '\t.*' '')
                    set node "$node $w[$j]"
                end
        end
        set j (math $j + 1)
    end
    if string match -q -- '-*' "$w[-1]"
        __ipnpm_options $node
    else if test -n "$(__ipnpm_commands $node)"
        __ipnpm_commands $node
    else
        __ipnpm_complete_value (__ipnpm_args $node) $w[-1] ''
    end
end

function __ipnpm_complete
    set -l w (commandline -opc) (commandline -ct | string unescape)
    set -l c (count $w)
    set -l cur $w[-1]
    set -l npm npm
    set -q IPNPM_NPM[1]; and set npm $IPNPM_NPM
    set -l i 2
    while test $i -lt $c # ipnpm's options; the first other word is the npm command, or ipfs
        switch $w[$i]
            case '--ipnpm-npm=*'
                set npm (string replace -- --ipnpm-npm= '' $w[$i])
            case '-*=*'
            case '-*'
                set -l kind (__ipnpm_value '' $w[$i])
                if test "$kind" != flag
                    if test (math $i + 1) -eq $c
                        __ipnpm_complete_value $kind $cur ''
                        return
                    end
                    test $w[$i] = --ipnpm-npm; and set npm $w[(math $i + 1)]
                    set i (math $i + 1)
                end
            case '*'
                break
        end
        set i (math $i + 1)
    end
    if test $i -lt $c; and test $w[$i] = ipfs
        __ipnpm_node $npm $w[(math $i + 1)..-1]
    else if test $i -lt $c
        set -l out (__ipnpm_npm $npm $w[$i..-1])
        if test (count $out) -gt 0
            printf '%s\n' $out
        else
            __fish_complete_path $cur
        end
    else if string match -q -- '-*=*' "$cur"
        set -l parts (string split -m1 = -- $cur)
        __ipnpm_complete_value (__ipnpm_value '' $parts[1]) "$parts[2]" "$parts[1]="
    else if string match -q -- '-*' "$cur"
        __ipnpm_options ''
    else
        __ipnpm_npm $npm $cur
        __ipnpm_commands ''
    end
end

complete -c ipnpm -f -a '(__ipnpm_complete)'
"""


def render(shell: str) -> str:
    """The completion script for ``shell`` ("bash", "zsh" or "fish")."""
    tree = nodes()
    tables = {
        "bash": lambda: _posix_tables(tree, described=False),
        "zsh": lambda: _posix_tables(tree, described=True),
        "fish": lambda: _fish_tables(tree),
    }[shell]()
    template = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}[shell]
    return template.replace("@HEADER@\n", _HEADER).replace("@TABLES@", tables)


def render_all() -> dict[str, str]:
    """File name -> content, for every shell."""
    return {name: render(shell) for shell, name in FILES.items()}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m ipnpm.cli.completion DIRECTORY", file=sys.stderr)
        return 2
    directory = Path(args[0])
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in render_all().items():
        (directory / name).write_text(text)
        print(directory / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
