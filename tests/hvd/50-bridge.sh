#!/bin/bash
# network = bridge on a private hvd: two VMs on a bridge this test makes,
# whose only other port is a veth into a network namespace standing in for
# the site (dnsmasq: DHCP and DNS, a file server). Each VM gets its address
# from DHCP under its MAC (derived from node and job, on a tap vj*), the two
# reach each other by address and by name, fetch from the site's server,
# and cannot reach this host's address on the bridge (the bridge guard).
# Traffic stays on the bridge and in the namespace.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/hvd/privhvd.sh
BR=vmjbr0 NS=vmjob-brtest IMG=${VMJOB_BRIDGE_IMAGE:-debian12}
grep -q "^\[$IMG\]" build/images/catalogue.conf 2>/dev/null ||
	{ echo "  skip: no $IMG image (make images as root builds it)"; exit 0; }
srv_pids=()
cleanup() {
	for p in "${srv_pids[@]}"; do kill "$p" 2>/dev/null; done
	ph_cleanup
	[ -f "$W/dnsmasq.pid" ] && kill "$(cat "$W/dnsmasq.pid")" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	ip link del "$BR" 2>/dev/null
	nft delete table bridge vmjob 2>/dev/null
	rm -rf "$W"
}
W=$(mktemp -d /tmp/vjt-br.XXXXXX)
trap cleanup EXIT
ip netns del "$NS" 2>/dev/null; ip link del "$BR" 2>/dev/null
ip link add "$BR" type bridge && ip link set "$BR" up &&
	ip addr add 10.88.0.254/24 dev "$BR" &&
	ip netns add "$NS" &&
	ip link add vmjbr-h type veth peer name site0 netns "$NS" &&
	ip link set vmjbr-h master "$BR" up &&
	ip -n "$NS" addr add 10.88.0.1/24 dev site0 && ip -n "$NS" link set site0 up &&
	ip -n "$NS" link set lo up || { echo "  not ok: cannot make the test network"; exit 1; }
ip netns exec "$NS" dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --interface=site0 \
	--bind-interfaces --dhcp-range=10.88.0.50,10.88.0.99,255.255.255.0,1h --domain=site.test \
	--local=/site.test/ --dhcp-leasefile="$W/leases" --pid-file="$W/dnsmasq.pid" --user=root \
	--log-dhcp --log-facility="$W/dnsmasq.log"
echo site-file-content > "$W/site.txt"; echo host-secret > "$W/host.txt"
(cd "$W" && exec ip netns exec "$NS" python3 -m http.server -b 10.88.0.1 8080 >/dev/null 2>&1) & srv_pids+=($!)
(cd "$W" && exec python3 -m http.server -b 10.88.0.254 8081 >/dev/null 2>&1) & srv_pids+=($!)
sleep 1

ph_setup brdg $'reap_interval = 0\nnetwork = bridge\nbridge = vmjbr0'
ph_start || exit 1
grep -q "guests cannot reach this host through the bridge" "$ph_dir/hvd.log"
check "hvd put the bridge guard in place" nft list table bridge vmjob
grep -E "clean-traffic" "$ph_dir/hvd.log" | sed 's/^/  | /'

ph_ctl create bra -i "$IMG" -m 512 > "$W/a.out" 2>&1 & ca=$!
ph_ctl create brb -i "$IMG" -m 512 > "$W/b.out" 2>&1 & cb=$!
wait $ca; ra=$?; wait $cb; rb=$?
check "two VMs on the bridge (rc $ra $rb)" [ "$ra$rb" = 00 ] || { cat "$W"/a.out "$W"/b.out; tail "$ph_dir/hvd.log"; }
x() { ph_ctl exec -C / "$@" 2>&1; }
mac_a=$(virsh -q -c qemu:///system domiflist vmjob-bra | awk '{print $1, $3, $5}')
mac_b=$(virsh -q -c qemu:///system domiflist vmjob-brb | awk '{print $1, $3, $5}')
echo "  tap bridge MAC: $mac_a / $mac_b"
check "a's NIC is a vj* tap on $BR with a local MAC" grep -Eq "^vj[0-9a-f]{12} $BR 02:" <<< "$mac_a"
check "the two VMs' MACs differ" [ "${mac_a##* }" != "${mac_b##* }" ]
check "the guest sees the MAC hvd derived" [ "$(x bra sh -c 'cat /sys/class/net/e*/address')" = "${mac_a##* }" ]
ip_a=$(x bra sh -c "ip -4 -o addr show scope global | awk '{print \$4}'" | cut -d/ -f1)
ip_b=$(x brb sh -c "ip -4 -o addr show scope global | awk '{print \$4}'" | cut -d/ -f1)
echo "  addresses: a $ip_a, b $ip_b"
check "a got its address from the site's DHCP" grep -q "^10\.88\.0\.\(5[0-9]\|[6-9][0-9]\)$" <<< "$ip_a"
check "... and b too, another one" [ -n "$ip_b" -a "$ip_b" != "$ip_a" ]
check "the lease names a by its hostname" grep -q " $ip_a vmjob-bra " "$W/leases"
if [ -z "$ip_a" ] || [ -z "$ip_b" ]; then
	for v in bra brb; do echo "  --- $v: DHCP client"; x "$v" sh -c 'cat /run/vmjob-dhcp.log; ip addr' | sed 's/^/  | /'; done
	echo "  --- dnsmasq"; sed 's/^/  | /' "$W/dnsmasq.log" | tail -20
fi

x bra sh -c 'echo from-a > /tmp/a.txt; cd /tmp && exec timeout 120 python3 -m http.server 8000 >/dev/null 2>&1' & srv_pids+=($!)
# (python starts slowly under TCG: give its server up to 60 s.)
got=
for _ in $(seq 20); do
	got=$(x brb curl -s -m 3 "http://$ip_a:8000/a.txt")
	[ "$got" = from-a ] && break
	sleep 2
done
check "b reaches a by address" [ "$got" = from-a ]
check "b reaches a by name (the site's DNS)" [ "$(x brb curl -s -m 10 http://vmjob-bra:8000/a.txt)" = from-a ]
check "a guest fetches from the site's server" [ "$(x bra curl -s -m 10 http://10.88.0.1:8080/site.txt)" = site-file-content ]
check "this host's server on the bridge answers the host" [ "$(curl -s -m 5 http://10.88.0.254:8081/host.txt)" = host-secret ]
out=$(x bra curl -s -m 5 http://10.88.0.254:8081/host.txt)
check "... but not a guest (the bridge guard)" [ "$out" != host-secret ]
# With libvirt's clean-traffic filter (libvirt-daemon-config-nwfilter), a
# guest that takes another address is not heard from it.
if virsh -q -c qemu:///system dumpxml vmjob-bra | grep -q "filterref filter='clean-traffic'"; then
	x bra ip addr add 10.88.0.200/24 dev "$(x bra sh -c 'ls /sys/class/net | grep ^e | head -n1')" >/dev/null
	out=$(x bra curl -s -m 5 --interface 10.88.0.200 http://10.88.0.1:8080/site.txt)
	check "clean-traffic: a forged source address gets nowhere" [ "$out" != site-file-content ]
	check "... the real one still works" [ "$(x bra curl -s -m 10 http://10.88.0.1:8080/site.txt)" = site-file-content ]
else
	echo "  (libvirt has no clean-traffic filter here: address spoofing not tested)"
fi
ph_ctl destroy bra >/dev/null 2>&1; ph_ctl destroy brb >/dev/null 2>&1
check "the taps are gone with the VMs" [ -z "$(ip -o link show master "$BR" | grep ' vj')" ]
echo "  ($ph_ok ok, $ph_bad not ok)"
[ "$ph_bad" = 0 ]
