from finance_mcp.cli import main

main()
