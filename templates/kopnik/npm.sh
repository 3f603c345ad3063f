# Installs a kp source tree's dependencies (and builds it) in a throwaway
# container of the node image, as the unprivileged user that owns the
# tree: npm lifecycle scripts of third-party code never run as root on the
# host. The container trusts what the host trusts (its CA bundle, which
# has any TLS-inspecting proxy's CA), for npm and git.
dir={{q .Dir}}
image={{q .Image}}
npm_version={{q .NPMVersion}}
cmd={{q .Command}}
uid={{q .UID}}
what={{q .What}}
private_file={{q .PrivateFile}}
bundle_check={{q .BundleCheck}}
marker={{q .Marker}}

git_head() {
	git -c safe.directory="$dir" -C "$dir" rev-parse HEAD
}
private_sum=""
if [ -n "$private_file" ]; then
	want_private=$(cat)
	private_sum=$(printf '%s\n' "$want_private" | sha256sum | cut -c1-12)
	if ! same_content "$dir/$private_file" "$want_private"; then
		todo "write $what's $private_file for this site"
		printf '%s\n' "$want_private" > "$dir/$private_file"
		chown "$uid:$uid" "$dir/$private_file"
	fi
fi
want="$(git_head) $image npm>=$npm_version $cmd $private_sum"
if same_content "$marker" "$want"; then
	exit 0
fi
todo "run '$cmd' for $what in $image"
ca=/etc/ssl/certs/ca-certificates.crt
set -- --rm --user "$uid:$uid" -e HOME=/tmp -v "$dir:/src" -w /src
if [ -f "$ca" ]; then
	# git takes the whole bundle as its only CA file.
	set -- "$@" -v "$ca:/etc/collabstack-ca.crt:ro" -e GIT_SSL_CAINFO=/etc/collabstack-ca.crt
fi
# Node adds NODE_EXTRA_CA_CERTS to its own roots, and old Node (7.x)
# ignores the whole file when one of them is already there: only the
# host's own extra CAs.
extra=$(mktemp)
trap 'rm -f "$extra"' EXIT
chmod 644 "$extra"
find /usr/local/share/ca-certificates -name '*.crt' -type f -exec cat {} + > "$extra" 2>/dev/null || true
if [ -s "$extra" ]; then
	set -- "$@" -v "$extra:/etc/collabstack-extra-ca.crt:ro" -e NODE_EXTRA_CA_CERTS=/etc/collabstack-extra-ca.crt
fi
docker image inspect --format ok "$image" >/dev/null 2>&1 || docker pull -q "$image"
rm -f "$marker"
# An npm older than npm_version (node:7.7.2 has npm 4.1.2, which ignores
# package-lock.json and takes today's newest version in every range) hands
# the install to npm_version from the registry, run by the image's Node,
# so native modules are built for the Node that runs them.
# shellcheck disable=SC2016
npm_boot='if [ -n "$NPM_VERSION" ]; then
	have=$(npm --version 2>/dev/null || echo 0)
	if [ "$(printf "%s\n%s\n" "$have" "$NPM_VERSION" | sort -V | head -n 1)" != "$NPM_VERSION" ]; then
		echo "npm $have is older than $NPM_VERSION, which reads package-lock.json: npm $NPM_VERSION installs" >&2
		d=/tmp/collabstack-npm
		mkdir -p "$d/pkg" "$d/bin"
		(cd "$d" && npm pack -q "npm@$NPM_VERSION" >/dev/null && tar -xzf "npm-$NPM_VERSION.tgz" -C pkg --strip-components=1) || exit 1
		printf "#!/bin/sh\nexec node %s/pkg/bin/npm-cli.js \"\$@\"\n" "$d" > "$d/bin/npm"
		chmod +x "$d/bin/npm"
		PATH="$d/bin:$PATH"
		export PATH
	fi
fi
'
docker run "$@" -e NPM_VERSION="$npm_version" "$image" sh -c "$npm_boot$cmd"
if [ "$bundle_check" = yes ]; then
	if [ ! -f "$dir/dist/index.html" ]; then
		echo "$what's build made no dist/index.html" >&2
		exit 1
	fi
	# webpack leaves a module it could not resolve as code that throws when
	# the bundle loads, and still exits 0.
	missing=$(grep -rlF webpackMissingModule "$dir/dist" --include='*.js' || true)
	if [ -n "$missing" ]; then
		echo "$what's bundle has unresolved modules (it would throw in the browser):" >&2
		printf '%s\n' "$missing" >&2
		grep -rhoE 'Cannot find module [^;]{0,80}' "$dir/dist" --include='*.js' | sort -u >&2 || true
		exit 1
	fi
fi
mkdir -p "$(dirname "$marker")"
printf '%s\n' "$want" > "$marker"
