from quantgate.cli.main import main

main()
