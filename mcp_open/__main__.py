from mcp_open.cli import main

raise SystemExit(main())
