from __future__ import annotations

from ipnpm.npm.config import NpmConfig
from ipnpm.npm.runner import child_env, npm_argv, redacted, replace_registry_host


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


def test_secret_goes_to_the_environment_only() -> None:
    env = child_env({"PATH": "/bin"}, "http://127.0.0.1:9/", "s3cret")
    assert env["npm_config_//127.0.0.1:9/:_authToken"] == "s3cret"
    assert redacted(["npm", "--//h/:_authToken=abc", "ci"]) == "npm --//h/:_authToken=*** ci"


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
