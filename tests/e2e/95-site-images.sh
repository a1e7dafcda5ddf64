#!/bin/bash
# Site images: the debian12 tree (make images' own mmdebstrap tree) taken
# the ways a site brings its images, each turned into a vmjob image by
# vmjob-image: as a directory and as an OCI layout written by umoci (with a
# second layer that deletes and adds files) both boot and run a job; as a
# tarball its files keep their owners and modes; install-agent puts the kit
# into a tree built elsewhere. Bad sources fail with one line and leave
# nothing behind.
. "$(dirname "$0")/lib.sh"
top=$(cd "$E2E/../.." && pwd)
VI=$top/build/imagetool/vmjob-image
KIT=$top/build/images/guest-kit.tar
TREE_TAR=$top/build/images/cache/debian12-tree.tar
REPO=/srv/vmjob/repo
if [ ! -s "$TREE_TAR" ]; then
	echo "  skip: no Debian tree ($TREE_TAR): make images as root builds it"
	finish
fi
command -v umoci >/dev/null || { fail "umoci is not installed (tests/cluster/packages.list)"; finish; }
S=$(mktemp -d /var/tmp/vmjob-siteimg.XXXXXX)
cp "$REPO/catalogue.conf" "$S/catalogue.conf.orig"
rm -f "$REPO"/site-*-root.img # an earlier run killed before its clean-up
cleanup() {
	cp "$S/catalogue.conf.orig" "$REPO/catalogue.conf"
	rm -f "$REPO"/site-*-root.img
	rm -rf "$S"
}
trap cleanup EXIT
vi() { "$VI" --kit "$KIT" -o "$REPO" "$@"; }

# --- a directory
mkdir "$S/dir"
tar -C "$S/dir" --numeric-owner -xpf "$TREE_TAR"
vi import -n site-dir -d "debian12 imported from a directory" "$S/dir" > "$S/dir.entry" 2> "$S/dir.log"
rc=$?; sed 's/^/  | /' "$S/dir.log"
check "import of a directory (rc $rc)" [ "$rc" = 0 ]
check "... printed its catalogue entry" grep -qx '\[site-dir\]' "$S/dir.entry"
check "... naming the image and its digest" grep -qx "root_sha256 = $(sha256sum "$REPO/site-dir-root.img" | cut -d' ' -f1)" "$S/dir.entry"
check "... and left no staging tree" [ -z "$(ls -A "$REPO" | grep '^\.site-dir')" ]
sum=$(sha256sum "$REPO/site-dir-root.img")
out=$(vi import -n site-dir "$S/dir" 2>&1); rc=$?
echo "  | $out"
check "importing over a published image is refused (rc $rc)" [ "$rc" = 1 ]
check "... in one line" [ "$(wc -l <<< "$out")" = 1 ]
check "... saying why" grep -q "never changed" <<< "$out"
check "... and the image is untouched" [ "$(sha256sum "$REPO/site-dir-root.img")" = "$sum" ]

# --- an OCI layout, two layers: the tree, then a layer that deletes a file
# and a directory's contents (whiteouts) and adds a file.
umoci init --layout "$S/oci" && umoci new --image "$S/oci:site" &&
	umoci unpack --image "$S/oci:site" "$S/bundle" > /dev/null &&
	cp -a "$S/dir/." "$S/bundle/rootfs/" &&
	umoci repack --image "$S/oci:site" "$S/bundle" && rm -rf "$S/bundle" &&
	umoci unpack --image "$S/oci:site" "$S/bundle" > /dev/null &&
	rm -f "$S/bundle/rootfs/usr/bin/less" && rm -rf "$S/bundle/rootfs/usr/share/doc"/* &&
	echo from-layer-2 > "$S/bundle/rootfs/etc/site-marker" &&
	umoci repack --image "$S/oci:site" "$S/bundle" && rm -rf "$S/bundle"
check "umoci wrote a two-layer OCI layout" [ "$(ls "$S/oci/blobs/sha256" | wc -l)" -ge 5 ]
vi import -n site-oci "$S/oci:site" > "$S/oci.entry" 2> "$S/oci.log"
rc=$?; sed 's/^/  | /' "$S/oci.log"
check "import of the OCI layout (rc $rc)" [ "$rc" = 0 ]
check "... of its two layers" grep -q "an OCI image of 2 layers" "$S/oci.log"

# --- a tarball: owners, modes and set-uid bits as the tree has them
vi import -n site-tar "$TREE_TAR" > "$S/tar.entry" 2> "$S/tar.log"
rc=$?; sed 's/^/  | /' "$S/tar.log"
check "import of a tarball (rc $rc)" [ "$rc" = 0 ]
st() { debugfs -R "stat $1" "$REPO/site-tar-root.img" 2>/dev/null | sed -n 's/.*Mode: *\([0-7]*\).*/\1/p;s/^User: *\([0-9]*\) *Group: *\([0-9]*\).*/\1:\2/p' | tr '\n' ' '; }
echo "  /etc/shadow: $(st /etc/shadow)  /usr/bin/passwd: $(st /usr/bin/passwd)"
check "/etc/shadow keeps root:shadow 0640" [ "$(st /etc/shadow)" = "0640 0:42 " ]
check "/usr/bin/passwd keeps its set-uid bit" [ "$(st /usr/bin/passwd)" = "04755 0:0 " ]
check "the kit is in: the agent" debugfs -R "stat /usr/sbin/vmagent" "$REPO/site-tar-root.img"
check "... srun is vmjob's" [ "$(debugfs -R "stat /usr/local/bin/srun" "$REPO/site-tar-root.img" 2>/dev/null | sed -n 's/^Fast link dest: "\(.*\)"/\1/p')" = /usr/lib/vmjob/hostcmd ]
rm -f "$REPO/site-tar-root.img"

# --- both boot and run a job
{ cat "$S/catalogue.conf.orig"; echo; cat "$S/dir.entry"; echo; cat "$S/oci.entry"; } > "$REPO/catalogue.conf"
for img in site-dir site-oci; do
	j=$(submit "$ALICE" --vm-image="$img" -o "$img.out" -e "$img.err" --wrap '
echo "debian=$(cat /etc/debian_version)"
echo "python=$(python3 -c "print(6 * 7)")"
echo "user=$(whoami)"
echo "marker=$(cat /etc/site-marker 2>/dev/null || echo none)"
echo "less=$(command -v less || echo none)"
echo "srun=$(srun -n1 hostname)"')
	s=$(wait_job "$j")
	show_file "$img.out"; show_file "$img.err"
	check "$img: the job completed ($s)" [ "$s" = COMPLETED ]
	check "$img: Debian 12 with python" grep -qx "python=42" "$img.out"
	check "$img: as its owner" grep -qx "user=$ALICE" "$img.out"
	check "$img: Slurm inside" grep -q "^srun=vmjob-" "$img.out"
	check "$img: nothing left behind" wait_until 30 no_leftovers "$j"
done
check "site-oci: the second layer's file is there" grep -qx "marker=from-layer-2" site-oci.out
check "site-oci: the file it deleted is gone" grep -qx "less=none" site-oci.out
check "site-dir: ... and is still in the directory's image" grep -qx "less=/usr/bin/less" site-dir.out

# --- the kit into a tree built elsewhere (its .deb: 97-debian-packages)
rm -f "$S/dir/usr/sbin/vmagent" "$S/dir/usr/local/bin/srun"
check "vmjob-image install-agent puts the kit into a tree" "$VI" --kit "$KIT" install-agent "$S/dir"
check "... the agent and srun" [ -x "$S/dir/usr/sbin/vmagent" ] && [ "$(readlink "$S/dir/usr/local/bin/srun")" = /usr/lib/vmjob/hostcmd ]

# --- bad sources: one line, nothing left
mkdir -p "$S/noshell/etc"
out=$(vi import -n site-bad "$S/noshell" 2>&1); rc=$?
echo "  | $out"
check "a tree without /bin/sh is refused (rc $rc)" [ "$rc" = 1 ]
check "... saying why" grep -q "no /bin/sh" <<< "$out"
check "... in one line" [ "$(wc -l <<< "$out")" -le 2 ]
check "... leaving no image and no staging tree" [ -z "$(ls -A "$REPO" | grep 'site-bad')" ]
layer=$(ls -S "$S/oci/blobs/sha256" | head -n1)
printf x >> "$S/oci/blobs/sha256/$layer"
out=$(vi import -n site-bad "$S/oci:site" 2>&1); rc=$?
echo "  | $(tail -n1 <<< "$out")"
check "a corrupted OCI blob is refused (rc $rc)" [ "$rc" = 1 ]
check "... naming the blob" grep -q "sha256:${layer:0:12}" <<< "$out"
out=$(as_alice "$VI" --kit "$KIT" -o /tmp import "$S/dir" 2>&1); rc=$?
check "an ordinary user is told it needs root (rc $rc)" grep -q "needs root" <<< "$out"
out=$("$VI" --kit "$KIT" -o "$REPO" import "$S/oci:nosuch" 2>&1); rc=$?
check "an unknown OCI ref lists the layout's refs" grep -q "it has: site" <<< "$out"
finish
