"""GatewaySource beyond the shared contract: racing gateways, dropping one that serves bad
blocks, one error naming every gateway, deadlines, and probe().

Real Kubo gateways serve the content; Verdaccio stands in for a real HTTP server that answers
404 under /ipfs/; tests/support/bad_servers.py supplies the misbehaviour.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from ipnpm.sources import SourceError, Want
from ipnpm.sources.gateway import GatewaySource, probe
from tests.support.bad_servers import corrupting_gateway, hanging_server
from tests.support.kubo import KuboNode, kubo_node
from tests.support.verdaccio import Verdaccio, free_port

pytestmark = pytest.mark.kubo

MIB = 1 << 20


@dataclass(frozen=True)
class Content:
    want: Want
    data: bytes


@pytest.fixture(scope="module")
def kubo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KuboNode]:
    with kubo_node(tmp_path_factory.mktemp("kubo-gateway")) as node:
        yield node


@pytest.fixture(scope="module")
def contents(kubo: KuboNode) -> list[Content]:
    """Single blocks and one multi-block file, all in Kubo (gateways do not care about npm)."""
    found = []
    for index, size in enumerate((100_000, 3 * MIB + 5, 200_000, 300_000)):
        data = random.Random(size).randbytes(size)
        cid = ipfs_add(kubo, data)
        found.append(Content(Want("content", f"{index}.0.0", None, cid=cid), data))
    return found


def ipfs_add(kubo: KuboNode, data: bytes) -> str:
    """Add as the unixfs-v1-2025 profile does (also the test profile's default), pinned."""
    added = kubo.rpc(
        "add",
        files={"file": data},
        cid_version=1,
        raw_leaves=True,
        chunker="size-1048576",
        pin=True,
    )
    return str(added.json()["Hash"])


def read(source: GatewaySource, want: Want) -> bytes | None:
    chunks = source.open(want)
    return None if chunks is None else b"".join(chunks)


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there any more


def eventually(condition: Callable[[], bool], within: float = 5.0) -> bool:
    ends = time.monotonic() + within
    while not condition() and time.monotonic() < ends:
        time.sleep(0.01)
    return condition()


def test_a_corrupting_gateway_is_dropped_and_the_next_one_serves(
    kubo: KuboNode, contents: list[Content]
) -> None:
    with corrupting_gateway(kubo.gateway_url) as bad:
        source = GatewaySource([bad.url, kubo.gateway_url], parallel=1)
        for content in contents:  # raw blocks and a CAR alike
            assert read(source, content.want) == content.data
        assert bad.requests == 1  # asked first, once, then never again
        assert source.dropped == {bad.url}


def test_racing_the_verified_answer_wins_and_the_liar_is_dropped(
    kubo: KuboNode, contents: list[Content]
) -> None:
    with corrupting_gateway(kubo.gateway_url) as bad:
        source = GatewaySource([bad.url, kubo.gateway_url], parallel=2)
        first, *later = contents
        assert read(source, first.want) == first.data
        # Both were asked at once; the liar's verdict may land after the honest answer won.
        assert eventually(lambda: bad.url in source.dropped)
        for content in later:
            assert read(source, content.want) == content.data
        assert bad.requests == 1


def test_a_hanging_gateway_costs_at_most_the_read_timeout(
    kubo: KuboNode, contents: list[Content]
) -> None:
    with hanging_server() as hanging:
        in_turn = GatewaySource([hanging.url, kubo.gateway_url], parallel=1, read_timeout=1.0)
        started = time.monotonic()
        assert read(in_turn, contents[0].want) == contents[0].data
        assert time.monotonic() - started < 2.5
        raced = GatewaySource([hanging.url, kubo.gateway_url], parallel=2, read_timeout=30.0)
        started = time.monotonic()
        assert read(raced, contents[1].want) == contents[1].data
        assert time.monotonic() - started < 2.0
        assert hanging.requests == 2


def test_the_deadline_caps_a_whole_request(contents: list[Content]) -> None:
    with hanging_server(after_headers=True) as stalling:
        source = GatewaySource([stalling.url], read_timeout=30.0, deadline=1.0)
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"no complete answer within 1 s"):
            read(source, contents[0].want)
        assert time.monotonic() - started < 2.0


def test_all_gateways_bad_one_error_names_each(kubo: KuboNode, contents: list[Content]) -> None:
    unreachable = closed_port_url()
    with corrupting_gateway(kubo.gateway_url) as bad, hanging_server() as hanging:
        urls = [bad.url, hanging.url, unreachable]
        source = GatewaySource(urls, parallel=3, connect_timeout=1.0, read_timeout=1.0)
        with pytest.raises(SourceError) as caught:
            read(source, contents[1].want)  # the multi-block one: a corrupt CAR
        message = str(caught.value)
        assert f"{bad.url}: served a bad block" in message
        assert f"{hanging.url}: no answer within 1 s" in message
        assert f"{unreachable}: unreachable" in message
        with pytest.raises(SourceError) as again:
            read(source, contents[0].want)
        assert f"{bad.url}: dropped earlier in this run" in str(again.value)
        assert bad.requests == 1


def test_not_found_everywhere_is_none(verdaccio: Verdaccio, contents: list[Content]) -> None:
    # Verdaccio has no /ipfs/ route: a real HTTP server answering 404, as a gateway does for
    # content it does not have.
    assert read(GatewaySource([verdaccio.url, verdaccio.url]), contents[0].want) is None
    unreachable = closed_port_url()
    with pytest.raises(SourceError) as caught:
        read(GatewaySource([verdaccio.url.rstrip("/"), unreachable]), contents[0].want)
    message = str(caught.value)
    assert f"{verdaccio.url.rstrip('/')}: not found" in message
    assert f"{unreachable}: unreachable" in message


def test_probe(kubo: KuboNode, verdaccio: Verdaccio) -> None:
    assert probe(kubo.gateway_url)
    assert not probe(verdaccio.url)
    assert not probe(closed_port_url())
    with hanging_server() as hanging:
        started = time.monotonic()
        assert not probe(hanging.url, timeout=0.5)
        assert time.monotonic() - started < 2.0


def test_a_cid_that_is_no_file_is_an_error() -> None:
    dag_cbor = "bafyreigbtj4x7ip5legnfznufuopl4sg4knzc2cof6duas4b3q2fy6swua"
    with pytest.raises(SourceError, match="neither raw nor dag-pb"):
        GatewaySource(["http://127.0.0.1:9"]).open(Want("x", "1.0.0", None, cid=dag_cbor))
    with pytest.raises(SourceError, match="cannot ask gateways"):
        GatewaySource(["http://127.0.0.1:9"]).open(Want("x", "1.0.0", None, cid="not-a-cid"))
