"""Shell completion: the committed scripts are the generated ones, and they work in real shells.

bash is driven the way readline drives it (COMP_* set, the function called, COMPREPLY read);
zsh through a real interactive ``zsh -f`` on a pty, with compadd wrapped to record its matches;
fish with ``complete -C``. Words after the npm command go to the real npm's ``npm completion``.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from ipnpm.cli.completion import FILES, nodes, render_all
from tests.support.npm_env import REPO_ROOT, clean_environ

COMPLETIONS = REPO_ROOT / "completions"
SHELL_TIMEOUT = 30.0
INSTALL_HINT = "install it: apt-get install -y zsh fish (.ci/run does this when missing)"

# (command line up to the cursor, what must be offered, whether nothing else may be)
CASES = [
    ("ipnpm --ipnpm-of", {"--ipnpm-offline"}, True),
    ("ipnpm --ipnpm-no-s", {"--ipnpm-no-seed"}, True),
    ("ipnpm --ipnpm-kubo ", {"auto", "off"}, True),
    ("ipnpm ipf", {"ipfs"}, True),
    ("ipnpm --offline ins", {"install"}, False),
    ("ipnpm ipfs st", {"store"}, True),
    ("ipnpm ipfs store v", {"verify"}, True),
    ("ipnpm ipfs fetch --j", {"--json"}, True),
    # npm's own completion, with ipnpm's words stripped: scripts of the project in the cwd,
    # a subcommand list, and an option name (from `npm install --help`: npm 11 completes none).
    ("ipnpm --ipnpm-store /tmp/x --offline run bu", {"build", "bump"}, True),
    ("ipnpm --ipnpm-kubo=off cache ", {"add", "clean", "ls", "verify"}, False),
    ("ipnpm install --save-d", {"--save-dev"}, True),
]


def _ipfs_subcommands() -> set[str]:
    return {name for node in nodes() if node.path == "ipfs" for name, _ in node.commands}


def _shell(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; {INSTALL_HINT}")
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose scripts npm's completion offers after `run`."""
    directory = tmp_path_factory.mktemp("completion-project")
    manifest = {"name": "p", "version": "1.0.0", "scripts": {"build": "x", "bump": "y", "t": "z"}}
    (directory / "package.json").write_text(json.dumps(manifest))
    return directory


@pytest.fixture(scope="module")
def shell_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("completion-home")
    return clean_environ() | {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "ZDOTDIR": str(home),
        "TERM": "xterm",
    }


@pytest.fixture
def fake_npm(tmp_path: Path) -> tuple[Path, Path]:
    """An npm that records how it was asked to complete, and offers one word."""
    log = tmp_path / "fake-npm.log"
    script = tmp_path / "fake-npm"
    script.write_text(
        "#!/bin/sh\n"
        f'{{ printf "%s\\n" "$@"; echo "CWORD=$COMP_CWORD"; echo "LINE=$COMP_LINE"; '
        f'echo "POINT=$COMP_POINT"; }} > {shlex.quote(str(log))}\n'
        "echo --save-dev-fake\n"
    )
    script.chmod(0o755)
    return script, log


# -- the scripts are generated ----------------------------------------------------------------


def test_committed_scripts_are_the_generated_ones(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ipnpm.cli.completion", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    regenerate = "regenerate with `python -m ipnpm.cli.completion completions/`"
    for name, text in render_all().items():
        assert (tmp_path / name).read_text() == text
        assert (COMPLETIONS / name).read_text() == text, f"{name} is stale: {regenerate}"


def test_every_option_and_subcommand_is_in_every_script() -> None:
    scripts = {name: (COMPLETIONS / name).read_text() for name in FILES.values()}
    for node in nodes():
        words = [n for opt in node.options for n in opt.names] + [n for n, _ in node.commands]
        for name, text in scripts.items():
            missing = [word for word in words if f"'{word}" not in text and f" {word}" not in text]
            assert not missing, f"{name} lacks {missing} of {node.path or 'ipnpm'}"


# -- bash ---------------------------------------------------------------------------------------


def _bash_complete(line: str, cwd: Path, env: dict[str, str]) -> list[str]:
    """What bash's completion would offer with the cursor at the end of ``line``."""
    # COMP_WORDS as readline makes them: = and : are word breaks of their own.
    driver = f"""
        source {shlex.quote(str(COMPLETIONS / FILES["bash"]))} || exit 90
        COMP_LINE={shlex.quote(line)}; COMP_POINT=${{#COMP_LINE}}
        words=$(sed -E 's/([=:])/ \\1 /g' <<<"$COMP_LINE")
        read -ra COMP_WORDS <<<"$words"
        [[ $COMP_LINE == *' ' ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
        spec=$(complete -p ipnpm) && [[ $spec == *"-F _ipnpm"* ]] || exit 91
        _ipnpm
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    result = subprocess.run(
        [_shell("bash"), "--norc", "--noprofile", "-c", driver],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SHELL_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0 and not result.stderr, result
    return [word for word in result.stdout.splitlines() if word]


@pytest.mark.parametrize(("line", "expected", "exact"), CASES, ids=[c[0] for c in CASES])
def test_bash(
    line: str, expected: set[str], exact: bool, project: Path, shell_env: dict[str, str]
) -> None:
    offered = _bash_complete(line, project, shell_env)
    assert set(offered) == expected if exact else expected <= set(offered), offered


def test_bash_ipfs_subcommands_and_value_after_a_colon(
    project: Path, shell_env: dict[str, str]
) -> None:
    assert set(_bash_complete("ipnpm ipfs ", project, shell_env)) == _ipfs_subcommands()
    # --ipnpm-kubo http://127.0.0.1:5001 is split at the colons by bash; the command is still found.
    offered = _bash_complete("ipnpm --ipnpm-kubo http://127.0.0.1:5001 run b", project, shell_env)
    assert set(offered) == {"build", "bump"}


@pytest.mark.parametrize(
    ("typed", "completed"),
    [
        ("ipnpm --ipnpm-of", "ipnpm --ipnpm-offline "),
        (
            "ipnpm --ipnpm-kubo=of",
            "ipnpm --ipnpm-kubo=off ",
        ),  # readline completes only the part after =
        ("ipnpm ipfs store v", "ipnpm ipfs store verify "),
        ("ipnpm install --save-d", "ipnpm install --save-dev "),
    ],
)
def test_bash_interactive_tab(
    typed: str, completed: str, project: Path, shell_env: dict[str, str]
) -> None:
    script = shlex.quote(str(COMPLETIONS / FILES["bash"]))
    child = pexpect.spawn(
        _shell("bash"),
        ["--norc", "--noprofile", "-i"],
        cwd=str(project),
        env=shell_env | {"PS1": "$ ", "TERM": "dumb"},
        encoding="utf-8",
        timeout=SHELL_TIMEOUT,
    )
    try:
        child.sendline(f"source {script} && echo LOADED")
        child.expect("LOADED\r\n")
        # TAB, then print the line as it stands: Ctrl-A, printf '[%s]' '…, Ctrl-E, '.
        child.send(typed + "\t\x01printf '[%s]\\n' '\x05'\r")
        child.expect(r"\r\n\[(.*)\]\r\n")
        assert child.match.group(1) == completed
    finally:
        child.close(force=True)


# -- zsh ----------------------------------------------------------------------------------------

_ZSH_HARNESS = r"""
PS1='%% '
unsetopt beep auto_list auto_menu list_beep
{load}
capture_file={capture}
compadd() {{  # record what each call adds (after zsh's own matching), then add it
    local arg
    for arg in "$@"; do
        [[ $arg == (-|--) ]] && break
        [[ $arg == -[OAD]* ]] && {{ builtin compadd "$@"; return }}  # a query, not an addition
    done
    local -a matched
    builtin compadd -O matched "$@"
    (( $#matched )) && print -rl -- "${{matched[@]}}" >> $capture_file
    builtin compadd "$@"
}}
capture-completion() {{
    : >| $capture_file
    zle complete-word
    print -r -- '<<END>>' >> $capture_file
    print -r -- "comps=$_comps[ipnpm]" >> $capture_file
    BUFFER=
}}
zle -N capture-completion
bindkey '^T' capture-completion
print HARNESS-READY
"""


class Zsh:
    """An interactive ``zsh -f`` with the completion loaded; complete() presses a key."""

    def __init__(self, cwd: Path, env: dict[str, str], workdir: Path, *, autoload: bool) -> None:
        script = COMPLETIONS / FILES["zsh"]
        compinit = "autoload -Uz compinit && compinit -u -D"
        load = (
            f"fpath=({shlex.quote(str(COMPLETIONS))} $fpath)\n{compinit}"
            if autoload
            else f"{compinit}\nsource {shlex.quote(str(script))}"
        )
        self.capture = workdir / "zsh-capture"
        harness = workdir / "harness.zsh"
        harness.write_text(_ZSH_HARNESS.format(load=load, capture=shlex.quote(str(self.capture))))
        self.child = pexpect.spawn(
            _shell("zsh"),
            ["-f", "-i"],
            cwd=str(cwd),
            env=env,
            encoding="utf-8",
            dimensions=(200, 400),
            timeout=SHELL_TIMEOUT,
        )
        self.child.sendline(f"source {shlex.quote(str(harness))} 2>{workdir}/zsh-errors")
        self.child.expect("HARNESS-READY")
        self.errors = (workdir / "zsh-errors").read_text()

    def complete(self, line: str) -> tuple[list[str], str]:
        """(matches, the function completing ipnpm) for ``line`` + TAB."""
        self.capture.unlink(missing_ok=True)
        self.child.send(line + "\x14")
        deadline = time.monotonic() + SHELL_TIMEOUT
        while "<<END>>" not in (text := _read(self.capture)):
            assert time.monotonic() < deadline, f"zsh did not complete {line!r}: {self.child}"
            time.sleep(0.01)
        matches, _, tail = text.partition("<<END>>\n")
        return [m for m in matches.splitlines() if m], tail.strip()

    def close(self) -> None:
        self.child.sendline("exit")
        self.child.close(force=True)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


@pytest.fixture(scope="module", params=["fpath", "source"])
def zsh(
    request: pytest.FixtureRequest,
    project: Path,
    shell_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Zsh]:
    workdir = tmp_path_factory.mktemp(f"zsh-{request.param}")
    shell = Zsh(project, shell_env, workdir, autoload=request.param == "fpath")
    try:
        yield shell
    finally:
        shell.close()


@pytest.mark.parametrize(("line", "expected", "exact"), CASES, ids=[c[0] for c in CASES])
def test_zsh(line: str, expected: set[str], exact: bool, zsh: Zsh) -> None:
    assert zsh.errors == ""
    offered, comps = zsh.complete(line)
    assert comps == "comps=_ipnpm"
    assert set(offered) == expected if exact else expected <= set(offered), offered


def test_zsh_ipfs_subcommands(zsh: Zsh) -> None:
    assert set(zsh.complete("ipnpm ipfs ")[0]) == _ipfs_subcommands()


# -- fish ---------------------------------------------------------------------------------------


def _fish_complete(line: str, cwd: Path, env: dict[str, str]) -> list[str]:
    script = COMPLETIONS / FILES["fish"]
    command = f"source {shlex.quote(str(script))}; and complete -C {shlex.quote(line)}"
    result = subprocess.run(
        [_shell("fish"), "--no-config", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SHELL_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0 and not result.stderr, result
    return [row.split("\t", 1)[0] for row in result.stdout.splitlines() if row]


@pytest.mark.parametrize(("line", "expected", "exact"), CASES, ids=[c[0] for c in CASES])
def test_fish(
    line: str, expected: set[str], exact: bool, project: Path, shell_env: dict[str, str]
) -> None:
    offered = _fish_complete(line, project, shell_env)
    assert set(offered) == expected if exact else expected <= set(offered), offered


def test_fish_ipfs_subcommands(project: Path, shell_env: dict[str, str]) -> None:
    assert set(_fish_complete("ipnpm ipfs ", project, shell_env)) == _ipfs_subcommands()


# -- the npm completion protocol, exactly -----------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_npm_is_asked_with_ipnpm_words_stripped(
    shell: str,
    fake_npm: tuple[Path, Path],
    project: Path,
    shell_env: dict[str, str],
    tmp_path: Path,
) -> None:
    npm, log = fake_npm
    line = f"ipnpm --ipnpm-npm {npm} --ipnpm-store /tmp/s install --save-d"
    if shell == "bash":
        offered = _bash_complete(line, project, shell_env)
    elif shell == "fish":
        offered = _fish_complete(line, project, shell_env)
    else:
        driver = Zsh(project, shell_env, tmp_path, autoload=True)
        try:
            offered = driver.complete(line)[0]
        finally:
            driver.close()
    assert offered == ["--save-dev-fake"]
    assert log.read_text().splitlines() == [
        "completion",
        "--",
        "npm",
        "install",
        "--save-d",
        "CWORD=2",
        "LINE=npm install --save-d",
        "POINT=20",
    ]


def test_ipnpm_npm_environment_variable_picks_the_npm(
    fake_npm: tuple[Path, Path], project: Path, shell_env: dict[str, str]
) -> None:
    npm, log = fake_npm
    env = shell_env | {"IPNPM_NPM": str(npm)}
    assert _bash_complete("ipnpm ci --x", project, env) == ["--save-dev-fake"]
    assert "LINE=npm ci --x" in log.read_text()
