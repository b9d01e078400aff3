"""The benchmark's world on loopback, built once per run and torn down at the end.

- the corpus registry: a Verdaccio holding the four real-world projects, uplink off (the
  "warm Verdaccio" a team would run on its LAN);
- two far upstreams: that registry behind bench.slow_proxy links, an office uplink and a
  remote one (a registry on the internet, one shared pipe each);
- the LAN peer: a Kubo that ends up holding every tarball (seeded by `ipnpm --kubo <peer>`);
- the client's own Kubo, connected to the peer, holding nothing of its own.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.slow_proxy import FarLink, Link, slow_proxy
from tests.support.corpus import CorpusRegistry, running_corpus_registry
from tests.support.kubo import KuboNode, kubo_node

GC_TIMEOUT = 300.0


@dataclass(frozen=True)
class World:
    root: Path
    corpus: CorpusRegistry
    office: FarLink  # the default user's uplink
    remote: FarLink  # a far site's uplink (P2, the fleet)
    peer: KuboNode
    client: KuboNode

    @property
    def far_url(self) -> str:
        """The office link: what "the upstream" means in every scenario unless said."""
        return self.office.url

    @property
    def links(self) -> tuple[Link, ...]:
        return self.office.link, self.remote.link

    @property
    def near_url(self) -> str:
        return self.corpus.url

    def daemons_cpu(self) -> float:
        """CPU seconds both Kubo daemons have used so far (user + system)."""
        return sum(_process_cpu(node) for node in (self.peer, self.client))

    def empty_client_kubo(self) -> None:
        """Drop every block the client's Kubo fetched (nothing there is pinned), then make sure
        it is connected to the peer: the next run finds its content on the LAN only."""
        self.client.rpc("repo/gc", timeout=GC_TIMEOUT)
        self.client.rpc("swarm/connect", self.peer.multiaddr())


def _process_cpu(node: KuboNode) -> float:
    if node.process is None:
        return 0.0
    stat = Path(f"/proc/{node.process.pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def building_world(
    root: Path, office: Link, remote: Link, *, overlays: Sequence[Path] = ()
) -> Iterator[World]:
    """overlays: storages linked over the corpus's (the resolve extras, bench/resolve_corpus)."""
    with contextlib.ExitStack() as stack:
        corpus = stack.enter_context(running_corpus_registry(root / "corpus", overlays=overlays))
        office_link = stack.enter_context(slow_proxy(corpus.url, office))
        remote_link = stack.enter_context(slow_proxy(corpus.url, remote))
        peer = stack.enter_context(kubo_node(root / "kubo-peer"))
        client = stack.enter_context(kubo_node(root / "kubo-client"))
        client.rpc("swarm/connect", peer.multiaddr())
        yield World(root, corpus, office_link, remote_link, peer, client)
