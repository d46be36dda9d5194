from motforge.cli import main

raise SystemExit(main())
