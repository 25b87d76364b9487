from vetoflow.cli import main

main()
