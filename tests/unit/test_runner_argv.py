from __future__ import annotations

from ipnpm.npm.config import NpmConfig
from ipnpm.npm.invocation import (
    child_env,
    npm_argv,
    redacted,
    replace_registry_host,
    run_npmrc,
)


def test_replace_registry_host_rules() -> None:
    assert replace_registry_host([], False) is None
    assert replace_registry_host(["127.0.0.1:4873"], False) == "127.0.0.1:4873"
    assert replace_registry_host(["a.invalid", "127.0.0.1:4873"], False) == "always"
    # `always` would send git dependencies to the proxy and break them.
    assert replace_registry_host(["a.invalid", "127.0.0.1:4873"], True) != "always"


def test_flags_follow_the_command_word_and_user_args_stay_intact() -> None:
    config = NpmConfig(registry="http://up.invalid/", scopes={"@acme": "http://p.invalid/"})
    argv = npm_argv(
        "/usr/bin/npm",
        ["exec", "--", "tool", "--registry=x"],
        proxy_url="http://127.0.0.1:9/",
        config=config,
        replace_host="up.invalid",
        no_proxy=["corp.invalid"],
    )
    assert argv[:2] == ["/usr/bin/npm", "exec"]
    assert argv[-3:] == ["--", "tool", "--registry=x"]
    assert "--registry=http://127.0.0.1:9/" in argv
    assert "--@acme:registry=http://127.0.0.1:9/" in argv
    assert "--replace-registry-host=up.invalid" in argv
    assert "--noproxy=corp.invalid,127.0.0.1" in argv


def test_secret_travels_in_the_run_userconfig_under_a_shell_safe_name() -> None:
    env = child_env({"PATH": "/bin", "NPM_CONFIG_USERCONFIG": "/home/u/.npmrc"}, "/tmp/run/npmrc")
    # dash drops names with "/" or ":"; npm_config_userconfig survives every shell.
    assert env == {"PATH": "/bin", "npm_config_userconfig": "/tmp/run/npmrc"}
    assert redacted(["npm", "--//h/:_authToken=abc", "ci"]) == "npm --//h/:_authToken=*** ci"


def test_run_npmrc_keeps_the_users_lines_and_routes_after_them() -> None:
    config = NpmConfig(registry="http://up.invalid/", scopes={"@acme": "http://p.invalid/"})
    text = run_npmrc(
        "registry=http://up.invalid/\n//up.invalid/:_authToken=${TOKEN}",
        proxy_url="http://127.0.0.1:9/",
        config=config,
        secret="s3cret",
        replace_host="up.invalid",
        no_proxy=(),
    )
    lines = text.splitlines()
    assert lines[:2] == ["registry=http://up.invalid/", "//up.invalid/:_authToken=${TOKEN}"]
    # Later lines win in an npmrc: the proxy's come last.
    assert lines.index("registry=http://127.0.0.1:9/") > 0
    assert "@acme:registry=http://127.0.0.1:9/" in lines
    assert "//127.0.0.1:9/:_authToken=s3cret" in lines
    assert "replace-registry-host=up.invalid" in lines
    assert "noproxy=127.0.0.1" in lines


def test_flags_follow_the_command_word_npm_finds() -> None:
    config = NpmConfig(registry="http://up.invalid/")

    def argv(*args: str) -> list[str]:
        return npm_argv(
            "npm", list(args), proxy_url="http://127.0.0.1:9/", config=config,
            replace_host=None, no_proxy=[],
        )  # fmt: skip

    flags = ["--registry=http://127.0.0.1:9/", "--noproxy=127.0.0.1"]
    assert argv("--prefix", "sub", "install", "x") == [
        "npm",
        "--prefix",
        "sub",
        "install",
        *flags,
        "x",
    ]
    assert argv("-s", "ci") == ["npm", "-s", "ci", *flags]
    # A command word after `--` is still npm's command; flags after it would be arguments.
    assert argv("--", "install", "x") == ["npm", *flags, "--", "install", "x"]
    assert argv("-g") == ["npm", "-g", *flags]
