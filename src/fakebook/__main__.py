from fakebook.cli import main

main()
