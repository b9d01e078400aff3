from ipnpm.cli.entry import main

main()
