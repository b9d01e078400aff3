# fish completion for ipnpm.
# Install: copy to ~/.config/fish/completions/ipnpm.fish
# Generated from ipnpm's click commands by `python -m ipnpm.cli.completion completions/`:
# edit ipnpm/cli/completion.py, not this file.
function __ipnpm_options --argument-names node # -> name<TAB>help
    switch $node
        case ''
            printf '%s\t%s\n' '--ipnpm-store' 'content store (default ~/.cache/ipnpm)'
            printf '%s\t%s\n' '--ipnpm-kubo' 'Kubo RPC API URL, auto (default) or off'
            printf '%s\t%s\n' '--ipnpm-gateway' 'trustless gateway URL (repeatable)'
            printf '%s\t%s\n' '--ipnpm-index' 'registry index [@SCOPE=]NAME (repeatable)'
            printf '%s\t%s\n' '--ipnpm-seed' 'add upstream tarballs to Kubo, pinned (default)'
            printf '%s\t%s\n' '--ipnpm-no-seed' 'do not add upstream tarballs to Kubo'
            printf '%s\t%s\n' '--ipnpm-seed-private' 'seed private tarballs too: * or @scope,…'
            printf '%s\t%s\n' '--ipnpm-pin' 'pin in Kubo everything fetched, and index roots'
            printf '%s\t%s\n' '--ipnpm-jobs' 'parallel prefetch downloads'
            printf '%s\t%s\n' '--ipnpm-npm' 'the npm executable to run'
            printf '%s\t%s\n' '--ipnpm-cidlock' 'keep ipnpm-lock.json (default auto)'
            printf '%s\t%s\n' '--ipnpm-offline' 'never contact the upstream (npm\'s --offline too)'
            printf '%s\t%s\n' '--ipnpm-debug' 'verbose logs on stderr and full tracebacks'
        case 'ipfs'
            printf '%s\t%s\n' '--version' 'Show the version and exit'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
        case 'ipfs cid'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
        case 'ipfs config'
            printf '%s\t%s\n' '--json' 'Print as JSON'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
        case 'ipfs doctor'
            printf '%s\t%s\n' '--json' 'Print the checks as JSON'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
        case 'ipfs fetch'
            printf '%s\t%s\n' '--json' 'Print the summary as JSON on stdout'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
        case 'ipfs index'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
        case 'ipfs index add'
            printf '%s\t%s\n' '--key' 'The index: its Kubo key, which names its MFS directory /ipnpm-indexes/KEY'
            printf '%s\t%s\n' '--deps' 'Also every dependency an install of them would fetch'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
        case 'ipfs index publish'
            printf '%s\t%s\n' '--key' 'The index: its Kubo key, which names its MFS directory /ipnpm-indexes/KEY'
            printf '%s\t%s\n' '--lifetime' 'How long the record stays valid: clients refuse it afterwards unless it is republished (`index republish`)'
            printf '%s\t%s\n' '--ttl' 'How long clients may cache it before asking again (a new version reaches them at most this late)'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
        case 'ipfs index republish'
            printf '%s\t%s\n' '--lifetime' 'Default: the lifetime it was published with'
            printf '%s\t%s\n' '--ttl' 'Default: the ttl it was published with'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
        case 'ipfs index resolve'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
        case 'ipfs index sync'
            printf '%s\t%s\n' '--key' 'The index: its Kubo key, which names its MFS directory /ipnpm-indexes/KEY'
            printf '%s\t%s\n' '--limit' 'New versions added per package (the newest ones; the upstream\'s latest always)'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
        case 'ipfs seed'
            printf '%s\t%s\n' '--store' 'Every tarball the store holds'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
        case 'ipfs serve'
            printf '%s\t%s\n' '--host' 'Address to listen on'
            printf '%s\t%s\n' '--port' 'Port to listen on; 0 picks a free one'
            printf '%s\t%s\n' '--no-auth' 'Serve the registry without the token (loopback hosts only)'
            printf '%s\t%s\n' '--allow-writes-as-operator' 'Pass clients\' publish, token and account requests upstream with YOUR credentials (default: refused with 403; clients may only read)'
            printf '%s\t%s\n' '--allow-host' 'Answer requests whose Host is NAME (e.g'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
        case 'ipfs store'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
        case 'ipfs store verify'
            printf '%s\t%s\n' '-h' 'Show this message and exit'
            printf '%s\t%s\n' '--help' 'Show this message and exit'
    end
end

function __ipnpm_commands --argument-names node # -> name<TAB>help
    switch $node
        case ''
            printf '%s\t%s\n' 'ipfs' 'ipnpm\'s own commands (everything else goes to npm)'
        case 'ipfs'
            printf '%s\t%s\n' 'cid' 'Print each file\'s CID under the unixfs-v1-2025 profile (like `ipfs add --only-hash`)'
            printf '%s\t%s\n' 'config' 'Show ipnpm\'s effective settings and where each comes from (command line > environment > package.json "ipnpm" key > user config file > default)'
            printf '%s\t%s\n' 'doctor' 'Check npm, the registry, Kubo, each gateway and index, and the store; say what to fix (exit 1 if anything is broken)'
            printf '%s\t%s\n' 'fetch' 'Fetch every locked tarball into the store, without running npm (exit 6 if any is missing)'
            printf '%s\t%s\n' 'index' 'Publish and resolve registry indexes (a signed list of hashes on IPFS)'
            printf '%s\t%s\n' 'seed' 'Add every tarball of LOCKFILE (default: this project\'s; fetched into the store first when missing) or of the whole store to Kubo, pinned, so that peers can install them from this machine (exit 6 if any could not be added)'
            printf '%s\t%s\n' 'serve' 'Run the verifying registry proxy until stopped (Ctrl-C: exit 130; SIGTERM: exit 0), for a team or a CI fleet, plus a trustless gateway (GET /ipfs/CID?format=raw|car) over the store that needs no token, for `ipnpm --ipnpm-gateway=URL`'
            printf '%s\t%s\n' 'store' 'Inspect and repair the local content store'
        case 'ipfs index'
            printf '%s\t%s\n' 'add' 'Mirror packages from the upstream into Kubo (pinned) and into the index of KEY (Kubo MFS /ipnpm-indexes/KEY); prints the new index root'
            printf '%s\t%s\n' 'publish' 'Sign the index root of KEY under the key\'s IPNS name (created if missing), after checking this node holds every block of it; prints the k51… name'
            printf '%s\t%s\n' 'republish' 'Sign the last published root of each KEY (default: every index this Kubo node has published) again with a fresh validity, so records outlast the publisher\'s downtime'
            printf '%s\t%s\n' 'resolve' 'Print the current root of the index NAME, after verifying its IPNS record'
            printf '%s\t%s\n' 'sync' 'Re-read the upstream packument of every package in the index of KEY, add the stable versions published after the newest one indexed (and their dependencies), then republish it if it was published before'
        case 'ipfs store'
            printf '%s\t%s\n' 'verify' 'Re-hash every stored object; quarantine bad ones; exit 7 if any were bad'
    end
end

function __ipnpm_value --argument-names node option # -> flag, none, dir, file, 'words A B'
    switch $node/$option
        case '/--ipnpm-store'
            echo 'dir'
        case '/--ipnpm-kubo'
            echo 'words auto off'
        case '/--ipnpm-gateway' '/--ipnpm-index' '/--ipnpm-seed-private' '/--ipnpm-jobs' 'ipfs index add/--key' 'ipfs index publish/--key' 'ipfs index publish/--lifetime' 'ipfs index publish/--ttl' 'ipfs index republish/--lifetime' 'ipfs index republish/--ttl' 'ipfs index sync/--key' 'ipfs index sync/--limit' 'ipfs serve/--host' 'ipfs serve/--port' 'ipfs serve/--allow-host'
            echo 'none'
        case '/--ipnpm-npm'
            echo 'file'
        case '/--ipnpm-cidlock'
            echo 'words auto yes no'
        case '*'
            echo flag
    end
end

function __ipnpm_args --argument-names node # -> file, or none
    switch $node
        case 'ipfs cid' 'ipfs seed'
            echo file
        case '*'
            echo none
    end
end

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
