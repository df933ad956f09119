
set edit:completion:arg-completer[agent] = { |@words|
    var index = (count $words)
    set index = (- $index 1)

    put (env _CLAP_IFS="\n" _CLAP_COMPLETE_INDEX=(to-string $index) AGENT_COMPLETE="elvish" agent -- $@words) | to-lines
}

