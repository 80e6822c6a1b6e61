from salespool.cli import main

main()
