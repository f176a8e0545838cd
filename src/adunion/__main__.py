from adunion.cli import main

main()
