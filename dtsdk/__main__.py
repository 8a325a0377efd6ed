from dtsdk.cli import main

raise SystemExit(main())
