# Sourced by the virtual boards' image builders (images.sh, pc-images.sh,
# uefi-images.sh; bash). The caller defines log and die, and INSTALL (0:
# --no-install).

APTO=(-o DPkg::Lock::Timeout=900)

# need_pkgs PKG...: installs the missing host packages (as root), or fails
# naming them.
need_pkgs() {
	local missing=() p
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
	[ ${#missing[@]} -gt 0 ] || return 0
	[ "$INSTALL" = 1 ] || die "missing packages: ${missing[*]} (run without --no-install, as root)"
	[ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]}; run as root: apt-get install ${missing[*]}"
	log "apt-get install ${missing[*]}"
	apt-get "${APTO[@]}" update -qq
	DEBIAN_FRONTEND=noninteractive apt-get "${APTO[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# foreign_apt ARCH DIR: a private apt state for ARCH's packages in DIR (its
# own lists and cache, no dpkg status: nothing is installed from it, the
# host may be any architecture), its lists updated. Its apt-get options are
# left in APTF.
foreign_apt() {
	local arch=$1 dir=$2
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	APTF=(-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch" -o "Dir::State::Lists=$dir/lists"
		-o "Dir::Cache=$dir/cache" -o Dir::State::status=/dev/null "${APTO[@]}")
	# The private state belongs to the caller: download as the caller, not as _apt.
	if [ "$(id -u)" = 0 ]; then APTF+=(-o APT::Sandbox::User=root); fi
	log "apt-get update (private $arch lists in $dir)"
	apt-get "${APTF[@]}" update -qq
}
