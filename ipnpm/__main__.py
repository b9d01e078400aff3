from ipnpm.cli import main

main()
