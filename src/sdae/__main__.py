from sdae.cli import main

raise SystemExit(main())
