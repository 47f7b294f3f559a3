# scripts/lib/venv.sh: sourced by test scripts that need a Python venv. Defines `apt_prefix`
# and `make_venv DIR`; expects the caller's `die` and `$work` (a scratch directory for logs).
# shellcheck shell=bash

# The command prefix that runs apt-get, or nothing (returns 1) when we may not.
apt_prefix() {
    if [[ $(id -u) -eq 0 ]]; then
        return 0
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        printf 'sudo -n'
    else
        return 1
    fi
}

# make_venv DIR: python3 -m venv DIR; when that fails (Debian's python3 without ensurepip),
# installs python3-venv (or python3.X-venv) with apt-get and tries again.
make_venv() {
    local dir=$1 prefix version package
    python3 -m venv "$dir" >"$work/venv.log" 2>&1 && return 0
    rm -rf -- "$dir"
    command -v apt-get >/dev/null 2>&1 || {
        cat -- "$work/venv.log" >&2
        die "python3 -m venv failed and apt-get is not available; install Python's venv module"
    }
    prefix=$(apt_prefix) || {
        cat -- "$work/venv.log" >&2
        die "python3 -m venv failed; install Debian's python3-venv (or run as root)"
    }
    version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    printf 'python3 -m venv failed; installing python3-venv with apt-get\n'
    # shellcheck disable=SC2086  # the prefix is empty or two words
    $prefix apt-get update -q >"$work/apt.log" 2>&1 || true
    for package in python3-venv "python$version-venv"; do
        # shellcheck disable=SC2086
        if $prefix env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" \
            >>"$work/apt.log" 2>&1 && python3 -m venv "$dir" >"$work/venv.log" 2>&1; then
            return 0
        fi
        rm -rf -- "$dir"
    done
    tail -n 20 -- "$work/apt.log" >&2
    cat -- "$work/venv.log" >&2
    die "python3 -m venv still fails after installing python3-venv"
}

