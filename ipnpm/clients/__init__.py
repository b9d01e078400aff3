"""HTTP clients: the upstream registry, Kubo's RPC, trustless gateways."""
