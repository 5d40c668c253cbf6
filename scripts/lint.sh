#!/usr/bin/env bash
# Static checks, run by `make lint` and by the test command:
#   - golangci-lint with .golangci.yml;
#   - govulncheck against the Go vulnerability database, built here from the
#     golang.org/x/vulndb module (its OSV files and its own generator,
#     cmd/indexdb), since the database's web site is out of reach in CI.
# The tools, and the database, are installed at the versions pinned below
# into ./bin, and reused while the pins and the Go version stay the same.
# golangci-lint keeps its analysis cache in the user cache directory
# (GOLANGCI_LINT_CACHE overrides it), which outlives CI's fresh clones.
set -euo pipefail
cd "$(dirname "$0")/.."

GOLANGCI_LINT_VERSION=v2.15.0
GOVULNCHECK_VERSION=v1.9.0
# The database's date is the module's; bump it to learn of newer reports.
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018

mkdir -p bin
goversion=$(go env GOVERSION)

# install PACKAGE VERSION: go install PACKAGE@VERSION into bin/, unless the
# command is there, built from that version with this Go.
install() {
	local pkg=$1 version=$2 name stamp
	name=$(basename "$pkg")
	stamp="bin/.$name-version"
	if [ -x "bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version $goversion" ]; then
		return
	fi
	echo "installing $name $version"
	GOBIN="$PWD/bin" go install "$pkg@$version"
	echo "$version $goversion" >"$stamp"
}

echo "== golangci-lint"
install github.com/golangci/golangci-lint/v2/cmd/golangci-lint "$GOLANGCI_LINT_VERSION"
bin/golangci-lint run ./...

echo "== govulncheck"
install golang.org/x/vuln/cmd/govulncheck "$GOVULNCHECK_VERSION"
db=bin/vulndb
if [ "$(cat "$db/.version" 2>/dev/null)" != "$VULNDB_VERSION" ]; then
	echo "building the vulnerability database from golang.org/x/vulndb@$VULNDB_VERSION"
	install golang.org/x/vulndb/cmd/indexdb "$VULNDB_VERSION"
	src=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ ! -d "$src/data/osv" ]; then
		echo "golang.org/x/vulndb@$VULNDB_VERSION has no data/osv" >&2; exit 1
	fi
	rm -rf "$db" "$db.tmp"
	bin/indexdb -vulns "$src/data/osv" -out "$db.tmp"
	echo "$VULNDB_VERSION" >"$db.tmp/.version"
	mv "$db.tmp" "$db"
fi

# Exit code 3: the code calls vulnerable symbols. Those of the standard
# library that scripts/vuln-accepted.txt lists are accepted there, with why;
# any other fails the test command.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
bin/govulncheck -db "file://$PWD/$db" ./... >"$out" 2>&1 || rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then
	cat "$out"
	exit "$rc"
fi
# ids PATTERN FILE: the vulnerability IDs of FILE's lines that PATTERN starts;
# none is no failure.
ids() { { grep -oE "$1GO-[0-9]+-[0-9]+" "$2" || true; } | { grep -oE 'GO-[0-9]+-[0-9]+' || true; } | sort -u; }
found=$(ids '^Vulnerability #[0-9]+: ' "$out")
accepted=$(ids '^' scripts/vuln-accepted.txt)
unaccepted=$(comm -23 <(echo "$found") <(echo "$accepted") | sed '/^$/d')
stale=$(comm -13 <(echo "$found") <(echo "$accepted") | sed '/^$/d')
if [ -n "$stale" ]; then
	echo "govulncheck: no longer found, to remove from scripts/vuln-accepted.txt:" $stale
fi
if [ -n "$unaccepted" ]; then
	cat "$out"
	echo "govulncheck: the code calls vulnerable symbols that scripts/vuln-accepted.txt does not accept:" $unaccepted >&2
	exit 1
fi
if [ -z "$found" ]; then
	cat "$out"
else
	# Accepted: their summary, not their call traces.
	grep -E '^(Vulnerability #|Your code|This scan|vulnerabilities in|these vuln)' "$out"
	echo "govulncheck: each of the $(echo "$found" | wc -l) is accepted in scripts/vuln-accepted.txt (full report: bin/govulncheck -db file://\$PWD/$db ./...)"
fi
