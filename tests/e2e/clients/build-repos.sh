#!/usr/bin/env bash
# Builds one tiny repository per package ecosystem, with that ecosystem's own tools, into
# OUT (the directory origin of tests/e2e/35-clients.sh):
#
#   build-repos.sh OUT APP_URL NPM_BASE_URL [APP2_URL]
#
#   OUT/apt/   pool/main/libedge++_1.0~rc1-1_all.deb, dists/stable/{Release,main/binary-ARCH/Packages*}
#              (dpkg-deb --build, apt-ftparchive packages/release)
#   OUT/rpm/   libedge++-1.0~rc1-1.noarch.rpm, repodata/ (rpmbuild -bb, createrepo_c)
#   OUT/pypi/  packages/edge_demo-1.0+edge.1-py3-none-any.whl (a PEP 427 zip, by hand),
#              simple/ PEP 503 pages with RELATIVE links (signed base URL flow)
#   OUT/pypi-app/simple/  the same pages with ABSOLUTE links to APP_URL (application flow:
#              pip drops a query token when it resolves a relative link)
#   OUT/npm/tarballs/{edge-demo-1.0.0.tgz,acme-widget-1.0.0.tgz} (npm pack)
#   OUT/npm/edge-demo, OUT/npm/@acme/widget          packuments, dist.tarball = NPM_BASE_URL tarballs/…
#   OUT/npm-app/edge-demo, OUT/npm-app/@acme/widget  packuments, dist.tarball = APP_URL/npm/tarballs/…
#   OUT/pypi-app2/, OUT/npm-app2/  with APP2_URL given: the same for a second application
#              (the one inside `edgegate serve`)
#   OUT/gems/  gems/edge_demo-1.0.0.gem, specs.4.8.gz, latest_specs…, quick/… (gem build, gem generate_index)
#
# APP_URL: the repository application (no trailing slash); NPM_BASE_URL: the npm
# registry's signed base URL on the gate (path token, ending in /npm/). Packuments must hold absolute tarball URLs, so they
# are written per flow. Everything else is static. Rubygems allows neither '+' nor '~' in a
# gem's name or version and PEP 440 no '~', so those file names carry what their
# ecosystem permits ('+' as a PEP 440 local version); apt and rpm carry both.
#
# The host is left alone: HOME, npm's cache and config, and rpmbuild's topdir all point
# into a scratch directory.
set -euo pipefail
[ $# = 3 ] || [ $# = 4 ] || { echo "usage: build-repos.sh OUT APP_URL NPM_BASE_URL [APP2_URL]" >&2; exit 2; }
out=$1 app=$2 base=$3 app2=${4:-}
mkdir -p "$out"
out=$(cd "$out" && pwd)
for tool in dpkg-deb apt-ftparchive rpmbuild createrepo_c gem npm python3 gzip; do
  command -v "$tool" >/dev/null || { echo "build-repos: $tool not found (run tests/setup.sh)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=1767225600
mkdir -p "$HOME"
export npm_config_cache="$work/npm-cache" npm_config_userconfig="$work/npmrc" npm_config_update_notifier=false
: >"$work/npmrc"
python=${PYTHON:-python3}

# --- apt -------------------------------------------------------------------------------
arch=$(dpkg --print-architecture)
pkg="$work/deb"
mkdir -p "$pkg/DEBIAN" "$pkg/usr/share/doc/libedge++"
cat >"$pkg/DEBIAN/control" <<'EOF'
Package: libedge++
Version: 1.0~rc1-1
Architecture: all
Maintainer: edgegate tests <tests@example.invalid>
Description: edgegate client test package ('+' and '~' in its file name)
EOF
echo "libedge++ test package" >"$pkg/usr/share/doc/libedge++/README"
# dpkg-deb refuses a control directory with modes outside 0755..0775 (a strict umask).
find "$pkg" -type d -exec chmod 0755 {} +
mkdir -p "$out/apt/pool/main" "$out/apt/dists/stable/main/binary-$arch"
dpkg-deb --root-owner-group -Zgzip --build "$pkg" "$out/apt/pool/main/libedge++_1.0~rc1-1_all.deb" >/dev/null
(
  cd "$out/apt"
  apt-ftparchive packages pool/main >"dists/stable/main/binary-$arch/Packages" 2>/dev/null
  gzip -9nc "dists/stable/main/binary-$arch/Packages" >"dists/stable/main/binary-$arch/Packages.gz"
  apt-ftparchive -o APT::FTPArchive::Release::Suite=stable -o APT::FTPArchive::Release::Codename=stable \
    -o APT::FTPArchive::Release::Components=main -o "APT::FTPArchive::Release::Architectures=$arch" \
    release dists/stable >"$work/Release"
  mv "$work/Release" dists/stable/Release
)

# --- rpm (dnf) ---------------------------------------------------------------------------
top="$work/rpmbuild"
mkdir -p "$top/SPECS" "$out/rpm"
cat >"$top/SPECS/libedge.spec" <<'EOF'
Name: libedge++
Version: 1.0~rc1
Release: 1
Summary: edgegate client test package
License: MIT
BuildArch: noarch
%description
edgegate client test package ('+' in its name, '~' in its version).
%install
mkdir -p %{buildroot}/usr/share/doc/libedge++
echo "libedge++ test package" > %{buildroot}/usr/share/doc/libedge++/README
%files
/usr/share/doc/libedge++/README
EOF
rpmbuild -bb --quiet --nodeps --define "_topdir $top" --define "_build_id_links none" \
  --define "_buildhost edgegate.invalid" "$top/SPECS/libedge.spec" >/dev/null 2>"$work/rpmbuild.err" ||
  { cat "$work/rpmbuild.err" >&2; exit 1; }
cp "$top/RPMS/noarch/libedge++-1.0~rc1-1.noarch.rpm" "$out/rpm/"
createrepo_c --quiet "$out/rpm" >/dev/null

# --- PyPI ---------------------------------------------------------------------------------
mkdir -p "$out/pypi/packages"
# By hand (as fixtures/demo-repo/make.sh): `pip wheel` needs the `wheel` package or a
# recent setuptools, i.e. index access at test time. A wheel is a zip with METADATA, WHEEL
# and a RECORD of sha256 hashes (PEP 427).
"$python" - "$out/pypi/packages" <<'PY'
import base64, hashlib, sys, zipfile
name, version = "edge_demo", "1.0+edge.1"
info = f"{name}-{version}.dist-info"
files = [
    (f"{name}/__init__.py", b'"""edgegate client test package."""\n'),
    (f"{info}/METADATA", f"Metadata-Version: 2.1\nName: edge-demo\nVersion: {version}\nSummary: edgegate client test package\n".encode()),
    (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: edgegate build-repos.sh\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
]
def h(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
record = "".join(f"{p},{h(d)},{len(d)}\n" for p, d in files) + f"{info}/RECORD,,\n"
files.append((f"{info}/RECORD", record.encode()))
with zipfile.ZipFile(f"{sys.argv[1]}/{name}-{version}-py3-none-any.whl", "w", zipfile.ZIP_DEFLATED) as zf:
    for path, data in files:
        zi = zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0))
        zi.external_attr = 0o644 << 16
        zi.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(zi, data)
PY
wheel=edge_demo-1.0+edge.1-py3-none-any.whl
[ -f "$out/pypi/packages/$wheel" ] || { echo "build-repos: no $wheel written" >&2; exit 1; }
sha=$(sha256sum "$out/pypi/packages/$wheel" | cut -d' ' -f1)
pep503() { # DIR HREF: a PEP 503 root page and project page linking HREF
  mkdir -p "$1/simple/edge-demo"
  printf '<!DOCTYPE html>\n<html><body><a href="edge-demo/">edge-demo</a></body></html>\n' >"$1/simple/index.html"
  printf '<!DOCTYPE html>\n<html><body><a href="%s#sha256=%s">%s</a></body></html>\n' "$2" "$sha" "$wheel" \
    >"$1/simple/edge-demo/index.html"
}
pep503 "$out/pypi" "../../packages/edge_demo-1.0%2Bedge.1-py3-none-any.whl"
pep503 "$out/pypi-app" "$app/pypi/packages/edge_demo-1.0%2Bedge.1-py3-none-any.whl"
[ -z "$app2" ] || pep503 "$out/pypi-app2" "$app2/pypi/packages/edge_demo-1.0%2Bedge.1-py3-none-any.whl"

# --- npm ------------------------------------------------------------------------------------
mkdir -p "$out/npm/tarballs" "$work/npm/plain" "$work/npm/scoped"
printf '{"name":"edge-demo","version":"1.0.0","description":"edgegate client test package","main":"index.js","license":"MIT"}\n' \
  >"$work/npm/plain/package.json"
printf '{"name":"@acme/widget","version":"1.0.0","description":"edgegate client test package (scoped)","main":"index.js","license":"MIT"}\n' \
  >"$work/npm/scoped/package.json"
echo 'module.exports = "edge-demo";' >"$work/npm/plain/index.js"
echo 'module.exports = "@acme/widget";' >"$work/npm/scoped/index.js"
(cd "$work/npm/plain" && npm pack --silent --pack-destination "$out/npm/tarballs" >/dev/null)
(cd "$work/npm/scoped" && npm pack --silent --pack-destination "$out/npm/tarballs" >/dev/null)
# A packument (the registry document npm reads): name, dist-tags and, per version, its
# manifest and dist (tarball URL, sha1 shasum, sha512 integrity).
packument() { # NAME TGZ TARBALL_URL OUTFILE
  "$python" - "$@" <<'PY'
import base64, hashlib, json, os, sys
name, tgz, url, dest = sys.argv[1:]
data = open(tgz, "rb").read()
version = "1.0.0"
doc = {
    "name": name,
    "dist-tags": {"latest": version},
    "versions": {version: {
        "name": name, "version": version, "main": "index.js", "license": "MIT",
        "dist": {
            "tarball": url,
            "shasum": hashlib.sha1(data).hexdigest(),
            "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
        },
    }},
}
os.makedirs(os.path.dirname(dest), exist_ok=True)
with open(dest, "w") as f:
    json.dump(doc, f)
PY
}
for flow in npm npm-app ${app2:+npm-app2}; do
  case $flow in
    npm) prefix="${base}tarballs" ;;
    npm-app) prefix="$app/npm/tarballs" ;;
    npm-app2) prefix="$app2/npm/tarballs" ;;
  esac
  packument edge-demo "$out/npm/tarballs/edge-demo-1.0.0.tgz" "$prefix/edge-demo-1.0.0.tgz" "$out/$flow/edge-demo"
  # npm asks for /@acme%2fwidget; the gate decodes %2F (SPEC §3), so the file lies at @acme/widget.
  packument @acme/widget "$out/npm/tarballs/acme-widget-1.0.0.tgz" "$prefix/acme-widget-1.0.0.tgz" \
    "$out/$flow/@acme/widget"
done

# --- RubyGems --------------------------------------------------------------------------------
gsrc="$work/gem"
mkdir -p "$gsrc/lib" "$out/gems/gems"
echo 'module EdgeDemo; end' >"$gsrc/lib/edge_demo.rb"
cat >"$gsrc/edge_demo.gemspec" <<'EOF'
Gem::Specification.new do |s|
  s.name = "edge_demo"
  s.version = "1.0.0"
  s.summary = "edgegate client test package"
  s.authors = ["edgegate tests"]
  s.license = "MIT"
  s.files = ["lib/edge_demo.rb"]
end
EOF
(cd "$gsrc" && gem build --silent edge_demo.gemspec >/dev/null 2>&1) ||
  { (cd "$gsrc" && gem build edge_demo.gemspec) >&2; exit 1; }
cp "$gsrc/edge_demo-1.0.0.gem" "$out/gems/gems/"
gem generate_index --silent --directory "$out/gems" >/dev/null
echo "build-repos: apt, rpm, pypi, npm, gems built in $out"
