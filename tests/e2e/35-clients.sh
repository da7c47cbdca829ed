#!/usr/bin/env bash
# Every package client the product serves (SPEC §4's table), for real, through
# `edgegate serve`: apt, dnf, pip, npm and gem, in both flows:
#   (a) application flow: client → repository application (tests/e2e/clients/app.py, which
#       signs with the real `akamai-edgeauth`, not with edgegate) → 302 to the gate with a
#       query URL token → file;
#   (b) signed base URL: a path token with an ACL over the ecosystem's prefix, written into
#       the client's own configuration.
# Repositories are built at test time with each ecosystem's own tools
# (tests/e2e/clients/build-repos.sh); every fetched artifact must be byte-identical to the
# built one. Per client: no token → the client fails and the gate logs `missing-token`; a
# wrong key (application and base URL) → `bad-signature`. The gate's log never holds a token
# HMAC, and the host's apt/dnf/pip/npm/gem state is unchanged (each client runs with its
# own configuration, state and cache under a scratch directory).
# Ends with `clients: N passed, M failed`; exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

target=${CARGO_TARGET_DIR:-target}
[[ $target == /* ]] || target="$root/$target"
edgegate="$target/debug/edgegate"
config="$root/fixtures/config/edgegate.toml"
python="$root/.venv/bin/python"
pip="$root/.venv/bin/pip"
here="$root/tests/e2e/clients"

. "$root/tests/e2e/lib/common.sh"
e2e_init clients
# Missing tools are errors, not skips.
[ -x "$python" ] || die "$python missing (run: tests/setup.sh)"
"$python" -c 'import akamai.edgeauth' 2>/dev/null || die "akamai-edgeauth missing in .venv (run: tests/setup.sh)"
for tool in curl apt-get apt-ftparchive dpkg-deb dnf rpmbuild createrepo_c npm node gem cmp sha256sum timeout; do
  command -v "$tool" >/dev/null || die "$tool not installed (run: tests/setup.sh)"
done
if [ ! -x "$edgegate" ]; then
  echo "clients: building edgegate"
  cargo build --quiet -p edgegate || die "cargo build -p edgegate failed"
fi

dnf --setopt=logdir="$tmp" download --help >/dev/null 2>&1 || die "dnf download missing (dnf-plugins-core; run: tests/setup.sh)"


# --- host state: nothing here may change (checked at the end) ---------------------------
home=${HOME:-/root}
host_paths=(/var/lib/apt/lists /var/cache/apt /var/lib/dpkg/status /etc/apt /var/cache/swcatalog
  /var/cache/dnf /var/lib/dnf /var/log/dnf.log /var/log/dnf.librepo.log /var/log/dnf.rpm.log /var/log/hawkey.log
  /etc/dnf /etc/yum.repos.d
  "$home/.cache/pip" "$home/.config/pip" "$home/.npm" "$home/.npmrc" "$home/.gem" "$home/.gemrc" "$home/.local/share/gem")
marker="$tmp/start-marker"
touch "$marker"
sleep 1 # mtimes have 1 s granularity on some file systems: anything written later is newer
host_changed() { # lists files under host_paths written since the start
  local p
  for p in "${host_paths[@]}"; do
    if [ -e "$p" ]; then find "$p" -newer "$marker" -print 2>/dev/null || true; fi
  done | head -5
}

# --- servers ------------------------------------------------------------------------------

key=$(sed -n 's/^secret = "\([0-9a-f]*\)".*/\1/p' "$config" | head -1)
[ ${#key} = 64 ] || die "no signing key in $config"
# A well-formed key the gate does not know.
wrong_key=$(printf 'edgegate clients: a key the gate does not know' | sha256sum | cut -d' ' -f1)
cat >"$tmp/wrong.toml" <<EOF
[[keys]]
id = "wrong"
secret = "$wrong_key"
EOF

repos="$tmp/repos"
mkdir -p "$repos"
listen gate url_gate "$edgegate" serve --config "$config" --origin "$repos" --listen 127.0.0.1:0
listen app url_app "$python" "$here/app.py" --gate "$url_gate" --key "$key" --hmac-log "$tmp/app-hmacs"
listen badapp url_badapp "$python" "$here/app.py" --gate "$url_gate" --key "$wrong_key" --hmac-log "$tmp/app-hmacs"
# `make run`'s set-up on these repositories: no --config (development key), and the
# repository application edgegate serve starts on a second port, signing with its own signer.
listen devgate url_devgate "$edgegate" serve --origin "$repos" --listen 127.0.0.1:0
url_serveapp=""
for _ in $(seq 1 50); do
  url_serveapp=$(sed -n 's/^carrying a URL token for that path, valid [0-9]* min): \(http:[^ ]*\)\/$/\1/p' "$tmp/devgate.out")
  [ -n "$url_serveapp" ] && break
  sleep 0.1
done
[ -n "$url_serveapp" ] || die "edgegate serve (development key) printed no repository application URL"

# base CONFIG PREFIX: a signed base URL (path token) with the ACL PREFIX*, ending in PREFIX.
base() {
  local b
  b=$("$edgegate" sign --config "$1" --acl "$2*" --ttl 600 --base-url "$url_gate/" --place path)
  [[ $b == "$url_gate/__token__="*/ ]] || die "unexpected signed base URL: $b"
  printf '%s%s' "$b" "${2#/}"
}
declare -A good wrong
for eco in apt rpm pypi npm gems; do
  good[$eco]=$(base "$config" "/$eco/")
  wrong[$eco]=$(base "$tmp/wrong.toml" "/$eco/")
done
# npm's packuments name the tarball by absolute URL: the base-URL flow's carry the signed one.
PYTHON="$python" bash "$here/build-repos.sh" "$repos" "$url_app" "${good[npm]}" "$url_serveapp" >/dev/null ||
  die "building the repositories failed"

deb="$repos/apt/pool/main/libedge++_1.0~rc1-1_all.deb"
rpm="$repos/rpm/libedge++-1.0~rc1-1.noarch.rpm"
whl="$repos/pypi/packages/edge_demo-1.0+edge.1-py3-none-any.whl"
tgz="$repos/npm/tarballs/edge-demo-1.0.0.tgz"
scoped_tgz="$repos/npm/tarballs/acme-widget-1.0.0.tgz"
gemfile="$repos/gems/gems/edge_demo-1.0.0.gem"

# The gate's log since a mark: each run checks only the lines it caused.
mark() { wc -l <"$tmp/gate.err"; }
# (No `grep -q` after a pipe: it exits at the first match, tail dies of SIGPIPE, and
# pipefail turns the match into a failure.)
logged() { tail -n +$(($1 + 1)) "$tmp/gate.err" | grep "\"reason\":\"$2\"" >/dev/null; }
# refused NAME MARK REASON RC FILE: the client failed (non-zero, no artifact) and the gate
# logged REASON.
refused() {
  if [ "$4" != 0 ] && [ ! -s "$5" ] && logged "$2" "$3"; then ok "$1"; else
    bad "$1" "client exit $4, artifact $([ -s "$5" ] && echo present || echo absent), gate log $(logged "$2" "$3" && echo has || echo lacks) $3"
  fi
}
# show LOG: the client's last lines, after a failed check.
show() { tail -n "${2:-4}" "$1" | sed 's/^/       | /'; }

# --- apt ---------------------------------------------------------------------------------
# run_apt NAME 'deb ... line': update + download libedge++ in an apt of its own (state,
# lists, cache, sources under $tmp/apt-NAME; the host's dpkg status never read).
# The host's /etc/apt/apt.conf.d is read *before* any -o option, hooks included (packagekit
# and appstream Post-Invoke-Success, DEP-11 targets): only APT_CONFIG, read first, can point
# apt's configuration directories elsewhere.
run_apt() {
  local d="$tmp/apt-$1" rc=0
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/dl" "$d/etc"
  touch "$d/status"
  echo "$2" >"$d/sources.list"
  printf 'Dir::Etc::main "%s";\nDir::Etc::parts "%s";\nDir::Etc::preferences "%s";\nDir::Etc::preferencesparts "%s";\n' \
    "$d/etc/apt.conf" "$d/etc" "$d/etc/preferences" "$d/etc" >"$d/apt-config"
  local o=(-o "Dir::Etc::sourcelist=$d/sources.list" -o Dir::Etc::sourceparts=-
    -o "Dir::State=$d" -o "Dir::State::lists=$d/lists" -o "Dir::State::status=$d/status"
    -o "Dir::Cache=$d/cache" -o "Dir::Cache::archives=$d/cache/archives" -o "Dir::Log=$d"
    -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root -o Acquire::Retries=0
    -o "Acquire::http::Proxy::127.0.0.1=DIRECT" -o Debug::NoLocking=1)
  {
    APT_CONFIG="$d/apt-config" timeout 60 apt-get "${o[@]}" update || rc=$?
    (cd "$d/dl" && APT_CONFIG="$d/apt-config" timeout 60 apt-get "${o[@]}" download 'libedge++') || rc=$?
  } >"$d/log" 2>&1
  # apt-get update exits 0 when an index fails: its Err/W/E lines say so.
  grep -qE '^(Err|W:|E:)' "$d/log" && [ "$rc" = 0 ] && rc=100
  artifact="$d/dl/libedge++_1.0~rc1-1_all.deb"
  return "$rc"
}

# --- dnf ---------------------------------------------------------------------------------
# run_dnf NAME BASEURL: `dnf download libedge++` with its own dnf.conf, repos dir, install
# root, cache, log and persist dirs; no host repository is enabled.
run_dnf() {
  local d="$tmp/dnf-$1" rc=0
  mkdir -p "$d/root" "$d/cache" "$d/repos.d" "$d/dl" "$d/log" "$d/persist"
  cat >"$d/dnf.conf" <<EOF
[main]
reposdir=$d/repos.d
cachedir=$d/cache
logdir=$d/log
persistdir=$d/persist
gpgcheck=0
repo_gpgcheck=0
retries=1
EOF
  printf '[edge]\nname=edge\nbaseurl=%s\ngpgcheck=0\nrepo_gpgcheck=0\nskip_if_unavailable=0\n' "$2" >"$d/repos.d/edge.repo"
  # generate_completion_cache writes /var/cache/dnf/packages.db whatever the installroot.
  timeout 120 dnf -q -y -c "$d/dnf.conf" --installroot "$d/root" --releasever 12 --setopt=cachedir="$d/cache" \
    --disableplugin=generate_completion_cache \
    --setopt=reposdir="$d/repos.d" --disablerepo='*' --enablerepo=edge \
    download --destdir "$d/dl" 'libedge++' >"$d/log.txt" 2>&1 || rc=$?
  artifact="$d/dl/libedge++-1.0~rc1-1.noarch.rpm"
  return "$rc"
}

# --- pip ---------------------------------------------------------------------------------
# run_pip NAME INDEX_URL: pip download, isolated (no config, no env, no cache).
run_pip() {
  local d="$tmp/pip-$1" rc=0
  mkdir -p "$d/dl"
  PIP_CONFIG_FILE=/dev/null timeout 60 "$pip" download --isolated --disable-pip-version-check --no-cache-dir \
    --no-deps --retries 0 -d "$d/dl" --index-url "$2" 'edge-demo==1.0+edge.1' >"$d/log" 2>&1 || rc=$?
  artifact="$d/dl/$(basename "$whl")"
  return "$rc"
}

# --- npm ---------------------------------------------------------------------------------
# run_npm NAME REGISTRY: `npm pack` of edge-demo and @acme/widget from REGISTRY (writes the
# tarballs as fetched), then `npm install` of both into a scratch project; own cache,
# user and global config.
run_npm() {
  local d="$tmp/npm-$1" rc=0
  mkdir -p "$d/dl" "$d/proj" "$d/cache"
  : >"$d/npmrc"
  : >"$d/global-npmrc"
  local o=(--registry "$2" --cache "$d/cache" --userconfig "$d/npmrc" --globalconfig "$d/global-npmrc"
    --no-audit --no-fund --update-notifier=false --fetch-retries=0 --loglevel=warn)
  {
    (cd "$d/dl" && timeout 60 npm pack "${o[@]}" --pack-destination "$d/dl" edge-demo@1.0.0 '@acme/widget@1.0.0') || rc=$?
    timeout 60 npm install "${o[@]}" --prefix "$d/proj" --no-save --no-package-lock edge-demo@1.0.0 '@acme/widget@1.0.0' || rc=$?
  } >"$d/log" 2>&1
  artifact="$d/dl/edge-demo-1.0.0.tgz"
  scoped_artifact="$d/dl/acme-widget-1.0.0.tgz"
  installed="$d/proj/node_modules"
  return "$rc"
}

# --- gem ---------------------------------------------------------------------------------
# run_gem NAME SOURCE: `gem fetch` (the .gem as fetched) and `gem install --install-dir`,
# with only SOURCE, an empty gemrc, and HOME/GEM_HOME/GEM_SPEC_CACHE of its own.
run_gem() {
  local d="$tmp/gem-$1" rc=0
  mkdir -p "$d/dl" "$d/home"
  echo '--- {}' >"$d/gemrc"
  local e=(env -i PATH=/usr/bin:/bin HOME="$d/home" GEM_HOME="$d/gemhome" GEM_PATH="$d/gemhome"
    GEM_SPEC_CACHE="$d/spec-cache" LANG=C.UTF-8)
  local o=(--clear-sources --source "$2" --config-file "$d/gemrc")
  {
    (cd "$d/dl" && timeout 60 "${e[@]}" gem fetch edge_demo --version 1.0.0 "${o[@]}") || rc=$?
    timeout 60 "${e[@]}" gem install edge_demo --version 1.0.0 "${o[@]}" --install-dir "$d/inst" --no-document || rc=$?
  } >"$d/log" 2>&1
  # gem fetch exits 0 when nothing matched ("Could not find a valid gem").
  grep -qi 'could not find\|error' "$d/log" && [ "$rc" = 0 ] && rc=1
  artifact="$d/dl/edge_demo-1.0.0.gem"
  return "$rc"
}

# flow CLIENT NAME LOCATION BUILT: one positive run; the artifact must be byte-identical.
flow() {
  local client=$1 name=$2 location=$3 built=$4 rc=0
  "run_$client" "$name" "$location" || rc=$?
  if [ "$rc" = 0 ] && same_file "$artifact" "$built"; then
    ok "$client $name: $(basename "$built") byte-identical"
  else
    bad "$client $name: $(basename "$built")" "client exit $rc"
    show "$(ls "$tmp/$client-$name"/log* | head -1)" 6
  fi
}
# negatives CLIENT LOC_NO_TOKEN LOC_WRONG_APP LOC_WRONG_BASE
negatives() {
  local client=$1 m rc
  m=$(mark); rc=0; "run_$client" no-token "$2" || rc=$?
  refused "$client no token: refused, gate logged missing-token" "$m" missing-token "$rc" "$artifact"
  m=$(mark); rc=0; "run_$client" wrong-key-app "$3" || rc=$?
  refused "$client application signing with a wrong key: refused, bad-signature" "$m" bad-signature "$rc" "$artifact"
  m=$(mark); rc=0; "run_$client" wrong-key-base "$4" || rc=$?
  refused "$client base URL signed with a wrong key: refused, bad-signature" "$m" bad-signature "$rc" "$artifact"
}

echo "clients: apt"
# apt percent-decodes a sources.list URI once: a path token goes in encoded twice (SPEC §4).
flow apt application "deb [trusted=yes] $url_app/apt stable main" "$deb"
flow apt base-url "deb [trusted=yes] ${good[apt]//%/%25} stable main" "$deb"
negatives apt "deb [trusted=yes] $url_gate/apt stable main" "deb [trusted=yes] $url_badapp/apt stable main" \
  "deb [trusted=yes] ${wrong[apt]//%/%25} stable main"

echo "clients: dnf"
flow dnf application "$url_app/rpm/" "$rpm"
flow dnf base-url "${good[rpm]}" "$rpm"
negatives dnf "$url_gate/rpm/" "$url_badapp/rpm/" "${wrong[rpm]}"

echo "clients: pip"
# The application's pages link absolutely (back to the application): pip resolves a
# relative link against the redirected URL without its query, so the token would be lost.
flow pip application "$url_app/pypi-app/simple/" "$whl"
flow pip base-url "${good[pypi]}simple/" "$whl"
negatives pip "$url_gate/pypi/simple/" "$url_badapp/pypi-app/simple/" "${wrong[pypi]}simple/"
# The pitfall itself: relative links behind the application lose the token on the wheel.
m=$(mark); rc=0; run_pip relative-links "$url_app/pypi/simple/" || rc=$?
refused "pip application + relative links: the wheel fetch loses the query token (missing-token)" \
  "$m" missing-token "$rc" "$artifact"

echo "clients: npm"
for name in application base-url; do
  if [ "$name" = application ]; then registry="$url_app/npm-app/"; else registry="${good[npm]}"; fi
  flow npm "$name" "$registry" "$tgz"
  check "npm $name: scoped @acme/widget tarball byte-identical" same_file "$scoped_artifact" "$scoped_tgz"
  check "npm $name: npm install put both packages in node_modules" \
    test -f "$installed/edge-demo/package.json" -a -f "$installed/@acme/widget/package.json"
done
negatives npm "$url_gate/npm-app/" "$url_badapp/npm-app/" "${wrong[npm]}"

echo "clients: gem"
flow gem application "$url_app/gems/" "$gemfile"
flow gem base-url "${good[gems]}" "$gemfile"
negatives gem "$url_gate/gems/" "$url_badapp/gems/" "${wrong[gems]}"

# --- the application inside edgegate serve (make run) -----------------------------------------
echo "clients: the repository application of edgegate serve (make run: development key, second port)"
flow apt serve-app "deb [trusted=yes] $url_serveapp/apt stable main" "$deb"
flow dnf serve-app "$url_serveapp/rpm/" "$rpm"
flow pip serve-app "$url_serveapp/pypi-app2/simple/" "$whl"
flow npm serve-app "$url_serveapp/npm-app2/" "$tgz"
check "npm serve-app: scoped @acme/widget tarball byte-identical" same_file "$scoped_artifact" "$scoped_tgz"
flow gem serve-app "$url_serveapp/gems/" "$gemfile"
# The banner's own one-liners for dnf, npm and gem, run as printed (DIR and PACKAGE filled
# in, /tmp/edgegate-* scratch paths moved under $tmp).
banner=$(sed -n '/^Repository application/,/^$/p' "$tmp/devgate.out")
mkdir -p "$tmp/banner"
run_banner() { # CLIENT DIR PACKAGE
  local line
  line=$(sed -n "s/^  \\(\\(GEM_SPEC_CACHE=[^ ]* \\)\\{0,1\\}$1 .*\\)/\\1/p" <<<"$banner" | head -1)
  [ -n "$line" ] || { echo "no $1 line in the banner"; return 1; }
  line=${line//\/tmp\/edgegate-/$tmp/banner-}
  line=${line//DIR/$2}
  line=${line//PACKAGE/$3}
  (cd "$tmp/banner" && timeout 60 bash -c "$line") >"$tmp/banner-$1.log" 2>&1
}
run_banner dnf rpm 'libedge++' || true
check "banner's dnf line (application) downloads the rpm" same_file "$tmp/banner-dnf/$(basename "$rpm")" "$rpm"
run_banner npm npm-app2 edge-demo || true
check "banner's npm line (application) packs the tarball" same_file "$tmp/banner/edge-demo-1.0.0.tgz" "$tgz"
run_banner gem gems edge_demo || true
check "banner's gem line (application) fetches the gem" same_file "$tmp/banner/edge_demo-1.0.0.gem" "$gemfile"
check "serve-app: the files came through the development-key gate (>= 10 forwards)" bash -c \
  "[ \$(grep -c '\"status\":200' '$tmp/devgate.err') -ge 10 ]"

# --- logs and host --------------------------------------------------------------------------
echo "clients: logs and host state"
leaked=""
for b in "${good[@]}" "${wrong[@]}"; do
  h=$(grep -o 'hmac%3D[0-9a-f]*' <<<"$b" | cut -c8-)
  [ -n "$h" ] && grep -q "$h" "$tmp/gate.err" && leaked+=" base-url"
done
n_app=0
while read -r h; do
  [ -n "$h" ] || continue
  n_app=$((n_app + 1))
  grep -q "$h" "$tmp/gate.err" && leaked+=" app"
done <"$tmp/app-hmacs"
check "no token HMAC in the gate's log (${#good[@]} + ${#wrong[@]} base URLs, $n_app application tokens)" test -z "$leaked"
check "no hmac value of any shape in either gate's log" \
  bash -c "! grep -qiE 'hmac(=|%3D)[0-9a-f]{8}' '$tmp/gate.err' '$tmp/devgate.err'"
check "the application issued tokens (the application flow went through it)" test "$n_app" -gt 20
changed=$(host_changed) || true # head may cut find short (SIGPIPE): still a list
check "the host's apt, dnf, pip, npm and gem state is unchanged" test -z "$changed"
[ -z "$changed" ] || sed 's/^/       changed: /' <<<"$changed"

echo "clients: $passed passed, $failed failed"
[ "$failed" = 0 ]
