# nvm and Node.js for the admin user (as on kopnik.org: "nvm install"). nvm comes
# from GitHub (its install script, pinned), or from a tarball of nvm that
# collabstack uploaded to {{.Tarball}} when the site cannot reach GitHub.
# Node itself comes from nodejs.org, or from the mirror in
# NVM_NODEJS_ORG_MIRROR.
user={{q .User}}
version={{q .Version}}
nvm_version={{q .NVMVersion}}
tarball={{q .Tarball}}
mirror={{q .Mirror}}
home=$(home_of "$user")
if [ -z "$home" ]; then
	echo "user $user does not exist" >&2
	exit 2
fi
group=$(id -gn "$user")
as_user() {
	su - "$user" -s /bin/bash -c "export NVM_DIR=\"\$HOME/.nvm\" NVM_NODEJS_ORG_MIRROR='$mirror'; . \"\$NVM_DIR/nvm.sh\"; $1"
}
if [ "$version" = lts ]; then
	want='lts/*'
	install_args=--lts
else
	want=$version
	install_args=$version
fi

if [ ! -s "$home/.nvm/nvm.sh" ]; then
	todo "install nvm $nvm_version for $user"
	if [ -n "$tarball" ]; then
		install -d -m 0755 -o "$user" -g "$group" "$home/.nvm"
		tar -xzf "$tarball" -C "$home/.nvm" --strip-components=1 --no-same-owner
		chown -R "$user:$group" "$home/.nvm"
		rm -f "$tarball"
	else
		su - "$user" -s /bin/bash -c "curl -fsSL https://raw.githubusercontent.com/nvm-sh/nvm/$nvm_version/install.sh | PROFILE=\"\$HOME/.bashrc\" bash"
	fi
fi
if ! grep -q 'NVM_DIR/nvm.sh' "$home/.bashrc" 2>/dev/null; then
	todo "load nvm from $user's .bashrc"
	# shellcheck disable=SC2016 # written for the user's shell to expand
	printf '%s\n' 'export NVM_DIR="$HOME/.nvm"' '[ -s "$NVM_DIR/nvm.sh" ] && . "$NVM_DIR/nvm.sh"' >> "$home/.bashrc"
	chown "$user:$group" "$home/.bashrc"
fi
installed_version=$(as_user "nvm version '$want'" 2>/dev/null || true)
if [ -z "$installed_version" ] || [ "$installed_version" = N/A ]; then
	todo "nvm install $install_args"
	as_user "nvm install $install_args"
	installed_version=$(as_user "nvm version '$want'")
fi
if [ "$(as_user 'nvm version default' 2>/dev/null || true)" != "$installed_version" ]; then
	todo "make Node $installed_version $user's default"
	as_user "nvm alias default $installed_version"
fi
