
_clap_complete_agent() {
    local IFS=$'\013'
    local _CLAP_COMPLETE_COMP_TYPE=${COMP_TYPE}
    if compopt +o nospace 2> /dev/null; then
        local _CLAP_COMPLETE_SPACE=false
    else
        local _CLAP_COMPLETE_SPACE=true
    fi
    local words=() _CLAP_COMPLETE_INDEX=0 _agent_rest=$COMP_LINE _agent_gap _agent_w _agent_i
    for (( _agent_i = 0; _agent_i < ${#COMP_WORDS[@]}; _agent_i++ )); do
        _agent_w=${COMP_WORDS[_agent_i]}
        _agent_gap=${_agent_rest%%[![:blank:]]*}
        _agent_rest=${_agent_rest#"$_agent_gap"}
        _agent_rest=${_agent_rest#"$_agent_w"}
        if (( _agent_i == COMP_CWORD )) && [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
            _agent_w=$2
        fi
        if (( _agent_i > 0 )) && [[ -z $_agent_gap ]] &&
            [[ $_agent_w == [=:]* || ${words[${#words[@]}-1]} == *[=:] ]]; then
            words[${#words[@]}-1]+=$_agent_w
        else
            words+=("$_agent_w")
        fi
        if (( _agent_i == COMP_CWORD )); then
            _CLAP_COMPLETE_INDEX=$(( ${#words[@]} - 1 ))
        fi
    done
    local _agent_cut=${words[_CLAP_COMPLETE_INDEX]%"$2"}
    COMPREPLY=( $( \
        _CLAP_IFS="$IFS" \
        _CLAP_COMPLETE_INDEX="$_CLAP_COMPLETE_INDEX" \
        _CLAP_COMPLETE_COMP_TYPE="$_CLAP_COMPLETE_COMP_TYPE" \
        _CLAP_COMPLETE_SPACE="$_CLAP_COMPLETE_SPACE" \
        AGENT_COMPLETE="bash" \
        "agent" -- "${words[@]}" \
    ) )
    local _agent_status=$?
    [[ -n $_agent_cut ]] && COMPREPLY=("${COMPREPLY[@]#"$_agent_cut"}")
    if [[ $_agent_status != 0 ]]; then
        unset COMPREPLY
    elif [[ $_CLAP_COMPLETE_SPACE == false ]] && [[ "${COMPREPLY-}" =~ [=/:]$ ]]; then
        compopt -o nospace
    fi
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -o nospace -o bashdefault -o nosort -F _clap_complete_agent agent
else
    complete -o nospace -o bashdefault -F _clap_complete_agent agent
fi

