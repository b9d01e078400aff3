"""What ipnpm keeps on disk: the content-addressed object store and its run logs."""
