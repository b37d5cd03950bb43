from frontier.cli.main import main

raise SystemExit(main())
