#!/bin/bash
# The guest's network (hvd.conf network = user on the local cluster): DNS
# and a file server of the site (the vmjob-site namespace up.sh makes) work;
# nothing listening on this host, on loopback or its own addresses, can be
# reached from the guest, even as root in it. All traffic stays on this
# machine: loopback and the test's own namespace.
. "$(dirname "$0")/lib.sh"
DEB=${VMJOB_TEST_DEBIAN_IMAGE:-debian12}
grep -Eq '^[[:space:]]*network[[:space:]]*=[[:space:]]*user' /etc/vmjob/hvd.conf ||
	{ echo "  (hvd.conf network is not user: nothing to test)"; finish; }
check "hvd put the guard in place" bash -c "nft list table inet vmjob | grep -q 'fib daddr type local reject'"
# A service on every address of this host, that root here can reach.
port=18089
python3 -m http.server --bind 0.0.0.0 "$port" --directory "$WORK" >/dev/null 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null' EXIT
echo secret-of-the-host > "$WORK/host.txt"
wait_until 10 curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/host.txt"
check "the host's own service is up" curl -fsS -m 2 -o /dev/null "http://10.77.0.2:$port/host.txt"

j=$(submit "$ALICE" --vm-image="$DEB" -o net.out -e net.err --wrap "
echo \"resolv=\$(grep -m1 nameserver /etc/resolv.conf)\"
echo \"dns=\$(getent hosts files.site.test | cut -d' ' -f1)\"
echo \"fetch=\$(curl -fsS -m 10 http://files.site.test:8080/hello.txt)\"
for a in 10.0.2.2 10.77.0.2; do
	curl -fsS -m 5 -o /dev/null http://\$a:$port/host.txt && echo \"reached=\$a\" || echo \"closed=\$a\"
done
curl -fsS -m 5 -o /dev/null http://10.0.2.2:8642/catalogue.conf && echo reached=repo || echo closed=repo")
st=$(wait_job "$j")
show_file net.out; show_file net.err
check "job completed ($st)" [ "$st" = COMPLETED ]
check "the guest's resolver is hvd.conf's guest_dns" grep -qx "resolv=nameserver 10.77.0.1" net.out
check "DNS works in the guest" grep -qx "dns=10.77.0.1" net.out
check "the guest fetches a file from the site's server" grep -qx "fetch=a file on the site's server" net.out
check "this host's loopback is closed to the guest (10.0.2.2)" grep -qx "closed=10.0.2.2" net.out
check "this host's own address is closed to the guest" grep -qx "closed=10.77.0.2" net.out
check "the image repository on loopback too" grep -qx "closed=repo" net.out
check "nothing reached" not grep -q '^reached=' net.out
check "nothing left behind" wait_until 30 no_leftovers "$j"
finish
