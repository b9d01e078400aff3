from ipnpm.entry import main

main()
