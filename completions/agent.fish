complete --keep-order --exclusive --command agent --arguments "(AGENT_COMPLETE=fish agent -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
