# Sourced by hvd tests and benchmarks: a private hvd (own socket, dirs and
# instance) next to the cluster's, so tests touch only the VMs they create.
#   ph_setup NAME [EXTRA_CONF_LINES]   dirs under /tmp/vjt-NAME-PID (NAME [a-z0-9]{1,6}:
#                                      run_dir stays short for the agent sockets)
#   ph_start [WRAPPER...]              start hvd -f (optionally under a wrapper)
#   ph_kill9 | ph_stop                 SIGKILL | SIGTERM and wait
#   ph_ctl ARGS...                     hvctl against it
#   ph_cleanup                         stop hvd, destroy our domains, remove dirs
# Needs: top (repo root), libvirtd running, the images built (build/images).
ph_ok=0 ph_bad=0
ok() { echo "  ok: $*"; ph_ok=$((ph_ok + 1)); }
notok() { echo "  not ok: $*"; ph_bad=$((ph_bad + 1)); }
check() { # DESCRIPTION COMMAND...
	local d=$1; shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}

ph_setup() {
	ph_name=$1
	# Unique per run: tests may run concurrently (make check and a developer).
	ph_dir=/tmp/vjt-$ph_name-$$
	ph_hvd_pid= ph_httpd_pid=
	rm -rf "$ph_dir"
	mkdir -p "$ph_dir"
	local cat=http://127.0.0.1:8642/catalogue.conf
	if ! curl -sf -o /dev/null "$cat"; then
		# The cluster's image repository is down: serve build/images ourselves.
		local port=$((20000 + $$ % 10000))
		busybox httpd -f -p "127.0.0.1:$port" -h "$top/build/images" &
		ph_httpd_pid=$!
		cat=http://127.0.0.1:$port/catalogue.conf
		for _ in $(seq 50); do curl -sf -o /dev/null "$cat" && break; sleep 0.1; done
	fi
	cat > "$ph_dir/hvd.conf" <<-CONF
	socket = $ph_dir/hvd.sock
	run_dir = $ph_dir/run
	state_dir = $ph_dir/state
	cache_dir = $ph_dir/cache
	pidfile = $ph_dir/hvd.pid
	catalogue = $cat
	virt_type = qemu
	boot_timeout = 120
	${2:-}
	CONF
	# Domains left by earlier test runs that could not clean up: instances
	# /tmp/vjt-NAME-PID/state whose process is gone. Nothing else is touched.
	local d inst pid
	for d in $(virsh -q -c qemu:///system list --name 2>/dev/null | grep '^vmjob-'); do
		inst=$(virsh -c qemu:///system metadata "$d" https://vmjob.example.org/xmlns/vm/1 2>/dev/null |
			sed -n 's#.*<instance>/tmp/vjt-[a-z0-9]*-\([0-9]*\)/state</instance>.*#\1#p')
		pid=$inst
		[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null &&
			virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1
	done
	# Share the downloaded images between runs: copy an earlier cache in.
	if [ -d /tmp/vjt-imgcache ]; then cp -a /tmp/vjt-imgcache "$ph_dir/cache"; fi
}

ph_start() {
	"$@" "$top/build/hvd/hvd" -f -c "$ph_dir/hvd.conf" >>"$ph_dir/hvd.log" 2>&1 &
	ph_hvd_pid=$!
	for _ in $(seq 300); do
		[ -S "$ph_dir/hvd.sock" ] && "$top/build/hvctl/hvctl" -s "$ph_dir/hvd.sock" vms >/dev/null 2>&1 && return 0
		kill -0 "$ph_hvd_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "hvd did not start; its log:"; tail -20 "$ph_dir/hvd.log"
	return 1
}

ph_kill9() {
	[ -n "$ph_hvd_pid" ] || return 0
	kill -9 "$ph_hvd_pid" 2>/dev/null
	wait "$ph_hvd_pid" 2>/dev/null
	ph_hvd_pid=
}

ph_stop() {
	[ -n "$ph_hvd_pid" ] || return 0
	kill -TERM "$ph_hvd_pid" 2>/dev/null
	wait "$ph_hvd_pid" 2>/dev/null
	ph_hvd_pid=
}

ph_ctl() { "$top/build/hvctl/hvctl" -s "$ph_dir/hvd.sock" "$@"; }

# Domains whose metadata names our instance (state_dir): ours only.
ph_domains() {
	local d
	for d in $(virsh -q -c qemu:///system list --name 2>/dev/null | grep '^vmjob-'); do
		virsh -c qemu:///system metadata "$d" https://vmjob.example.org/xmlns/vm/1 2>/dev/null |
			grep -q "<instance>$ph_dir/state</instance>" && echo "$d"
	done
}

ph_cleanup() {
	ph_stop
	local d
	for d in $(ph_domains); do virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1; done
	[ -z "$ph_httpd_pid" ] || { kill "$ph_httpd_pid" 2>/dev/null; wait "$ph_httpd_pid" 2>/dev/null; }
	# Keep the image cache for the next run (downloads are not what is tested).
	if [ -d "$ph_dir/cache" ] && [ ! -d /tmp/vjt-imgcache ]; then
		cp -a "$ph_dir/cache" "/tmp/vjt-imgcache.$$" &&
			{ mv -T "/tmp/vjt-imgcache.$$" /tmp/vjt-imgcache 2>/dev/null || rm -rf "/tmp/vjt-imgcache.$$"; }
	fi
	cp "$ph_dir/hvd.log" "/tmp/vjt-$ph_name.log" 2>/dev/null # for a look afterwards
	rm -rf "$ph_dir"
}
