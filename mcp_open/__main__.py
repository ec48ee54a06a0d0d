from mcp_open.edge.cli import main

raise SystemExit(main())
