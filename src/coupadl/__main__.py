from coupadl.cli.app import main

main()
