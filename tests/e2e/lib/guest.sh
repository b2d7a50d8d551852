# Boots a throw-away Linux guest under QEMU (TCG) and collects what it reports. Sourced by tests.
#
#   e2e_prepare                         build kernel + base initramfs into tests/e2e/.cache (once)
#   E2E_GUEST_ENV=(K=V ...)             variables the next guest script sees
#   e2e_run_guest NAME SCRIPT QEMU_ARGS...  boot, run SCRIPT as root in the guest, power off
#   e2e_blk_args ID SOCK [QUEUES] [packed]  QEMU args for a vhost-user-blk-pci disk
#   e2e_scsi_args ID SOCK [QUEUES]          QEMU args for a vhost-user-scsi-pci HBA
#
# The guest prints "E2E: ok NAME" / "E2E: fail NAME REASON" on its serial console; tap.sh turns
# those into TAP. The initramfs is busybox plus fio, blkdiscard and sg3_utils with their libraries;
# the test script rides along as a second cpio archive (the kernel unpacks concatenated archives).
# shellcheck shell=bash

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
E2E_CACHE=${E2E_CACHE:-$E2E_DIR/.cache}
E2E_GUEST_TIMEOUT=${E2E_GUEST_TIMEOUT:-120}
E2E_KERNEL_META=linux-image-cloud-amd64
# Load order matters: each module's dependencies come before it.
E2E_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
	scsi_common scsi_mod sd_mod sg virtio_scsi"
E2E_HOST_PACKAGES="qemu-system-x86 busybox-static fio sg3-utils util-linux cpio xz-utils zstd"
E2E_GUEST_ENV=()

e2e_log() { echo "# $*"; }

e2e_packages_install() { # installs only the packages that are missing
	local p missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	e2e_log "installing$missing"
	apt-get update -qq >/dev/null 2>&1
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

# Prints "PACKAGE VERSION" of the versioned kernel image the meta package points at.
e2e_kernel_resolve() {
	local pkg ver try
	for try in 1 2; do
		pkg=$(apt-cache depends "$E2E_KERNEL_META" 2>/dev/null |
			awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
		[ -n "$pkg" ] && break
		[ "$try" = 1 ] && apt-get update -qq >/dev/null 2>&1
	done
	[ -n "$pkg" ] || return 1
	ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
	[ -n "$ver" ] || return 1
	echo "$pkg $ver"
}

# Unpacks the kernel package in $1 and keeps vmlinuz plus the modules we load in $1/out.
e2e_kernel_unpack() { # tmp package
	local tmp=$1 m ko
	(cd "$tmp" && apt-get download -q "$2" >/dev/null) || return 1
	dpkg-deb -x "$tmp"/*.deb "$tmp/root" || return 1
	mkdir -p "$tmp/out/modules" && cp "$tmp"/root/boot/vmlinuz-* "$tmp/out/vmlinuz" || return 1
	for m in $E2E_MODULES; do
		ko=$(find "$tmp/root/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" |
			head -1)
		[ -n "$ko" ] || { e2e_log "module $m not in $2"; return 1; }
		case $ko in # busybox insmod reads plain ELF only
		*.xz) xz -dc "$ko" >"$tmp/out/modules/$m.ko" ;;
		*.zst) zstd -qdc "$ko" >"$tmp/out/modules/$m.ko" ;;
		*) cp "$ko" "$tmp/out/modules/$m.ko" ;;
		esac || return 1
	done
}

e2e_kernel_fetch() { # dir package
	local tmp rc
	tmp=$(mktemp -d "$E2E_CACHE/fetch.XXXXXX") || return 1
	chmod 755 "$tmp" && chown _apt "$tmp" 2>/dev/null # apt downloads as user _apt
	e2e_kernel_unpack "$tmp" "$2" && rm -rf "$1" && mv "$tmp/out" "$1"
	rc=$?
	rm -rf "$tmp"
	return $rc
}

# Copies an ELF program into ROOT/usr/local/bin with every library ldd names, at the same paths.
e2e_copy_program() { # root program
	local root=$1 prog lib
	prog=$(command -v "$2") || { echo "# $2 not found" >&2; return 1; }
	cp -L "$prog" "$root/usr/local/bin/" || return 1
	for lib in $(ldd "$prog" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
						    $1 ~ /^\// { print $1 }'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib" || return 1
	done
}

e2e_guest_programs() {
	echo fio blkdiscard
	dpkg -L sg3-utils | grep -E '/bin/sg_[a-z0-9_]+$' | xargs -n1 basename
}

e2e_initramfs_build() { # kernel-dir output
	local kdir=$1 out=$2 root applet p
	root=$(mktemp -d "$E2E_CACHE/root.XXXXXX")
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,lib/modules,proc,sys,dev,tmp,e2e}
	cp /bin/busybox "$root/bin/busybox"
	for applet in $(busybox --list-full); do
		[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
	done
	cp "$kdir"/modules/*.ko "$root/lib/modules/"
	echo "$E2E_MODULES" >"$root/lib/modules/order"
	cp "$E2E_DIR/lib/guest_init.sh" "$root/init" && chmod 755 "$root/init"
	for p in $(e2e_guest_programs); do
		e2e_copy_program "$root" "$p" || { rm -rf "$root"; return 1; }
	done
	(cd "$root" && find . | cpio -o -H newc --quiet) >"$out.tmp" && mv "$out.tmp" "$out"
	local rc=$?
	rm -rf "$root"
	return $rc
}

# What the base initramfs is made of; a change in any of it rebuilds the image.
e2e_initramfs_key() { # kernel-package-version
	{
		echo "$1 $E2E_MODULES"
		cat "$E2E_DIR/lib/guest_init.sh"
		declare -f e2e_initramfs_build e2e_copy_program e2e_guest_programs
		dpkg-query -W busybox-static fio sg3-utils util-linux libc6
	} | md5sum | cut -c1-12
}

# Idempotent: sets E2E_KERNEL and E2E_INITRD, building what is missing or stale.
e2e_prepare() {
	local kv pkg ver kdir key
	mkdir -p "$E2E_CACHE" || return 1
	exec {E2E_LOCK_FD}>"$E2E_CACHE/.lock"
	flock "$E2E_LOCK_FD"
	# shellcheck disable=SC2086
	e2e_packages_install $E2E_HOST_PACKAGES || { e2e_log "package install failed"; return 1; }
	if kv=$(e2e_kernel_resolve); then
		read -r pkg ver <<<"$kv"
		kdir="$E2E_CACHE/kernel-$pkg-$ver"
	else # offline: fall back on a kernel fetched before
		kdir=$(ls -d "$E2E_CACHE"/kernel-* 2>/dev/null | tail -1)
		[ -n "$kdir" ] || { e2e_log "cannot resolve $E2E_KERNEL_META"; return 1; }
	fi
	if [ ! -f "$kdir/vmlinuz" ]; then
		e2e_log "fetching $pkg $ver"
		find "$E2E_CACHE" -maxdepth 1 -name 'kernel-*' -exec rm -rf {} +
		e2e_kernel_fetch "$kdir" "$pkg" || { e2e_log "kernel fetch failed"; return 1; }
	fi
	key=$(e2e_initramfs_key "$(basename "$kdir")")
	E2E_KERNEL="$kdir/vmlinuz"
	E2E_INITRD="$E2E_CACHE/initramfs-$key.cpio"
	if [ ! -f "$E2E_INITRD" ]; then
		e2e_log "building $(basename "$E2E_INITRD")"
		find "$E2E_CACHE" -maxdepth 1 -name 'initramfs-*' -delete
		e2e_initramfs_build "$kdir" "$E2E_INITRD" || { e2e_log "initramfs build failed"; return 1; }
	fi
	flock -u "$E2E_LOCK_FD"
}

e2e_blk_args() { # id sock [queues] [packed]
	local dev="vhost-user-blk-pci,chardev=$1,num-queues=${3:-2}"
	[ "${4:-}" = packed ] && dev="$dev,packed=on"
	echo "-chardev socket,id=$1,path=$2 -device $dev"
}

e2e_scsi_args() { # id sock [queues]
	echo "-chardev socket,id=$1,path=$2 -device vhost-user-scsi-pci,chardev=$1,num_queues=${3:-2}"
}

# Runs a guest to completion. Serial log: $E2E_RUN_DIR/NAME.log. Returns 124 on timeout.
# E2E_ALLOW_REBOOT=N lets the guest reboot N times (QEMU exits on reset otherwise); a guest that
# boots more often than that is stopped (a reboot loop would otherwise last until the timeout);
# so is a guest whose vhostd ($E2E_VHOSTD_PID, when set) died.
e2e_run_guest() { # name script qemu-args...
	local name=$1 script=$2 root="$E2E_RUN_DIR/$1.root" log="$E2E_RUN_DIR/$1.log" kv rc n stopped=0
	shift 2
	mkdir -p "$root/e2e"
	cp "$script" "$root/e2e/script.sh"
	cp "$E2E_DIR/lib/guest_lib.sh" "$root/e2e/lib.sh"
	for kv in "E2E_WATCHDOG=$((E2E_GUEST_TIMEOUT * 3 / 4))" "${E2E_GUEST_ENV[@]}"; do # quoted for ash
		printf "%s='%s'\n" "${kv%%=*}" "$(printf %s "${kv#*=}" | sed "s/'/'\\\\''/g")"
	done >"$root/e2e/env.sh"
	(cd "$root" && find . | cpio -o -H newc --quiet) >"$E2E_RUN_DIR/$name.cpio"
	cat "$E2E_INITRD" "$E2E_RUN_DIR/$name.cpio" >"$E2E_RUN_DIR/$name.initrd"
	local reboot=(-no-reboot) boots=$((${E2E_ALLOW_REBOOT:-0} + 1))
	[ "$boots" -gt 1 ] && reboot=()
	timeout -k 5 "$E2E_GUEST_TIMEOUT" qemu-system-x86_64 \
		-accel tcg -cpu max -smp 2 -m 512M \
		-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
		-nodefaults -no-user-config -display none -serial "file:$log" "${reboot[@]}" \
		-kernel "$E2E_KERNEL" -initrd "$E2E_RUN_DIR/$name.initrd" \
		-append "console=ttyS0 panic=-1 quiet" "$@" >"$E2E_RUN_DIR/$name.qemu.log" 2>&1 &
	E2E_QEMU_PID=$!
	while kill -0 "$E2E_QEMU_PID" 2>/dev/null; do
		n=$(grep -cs '^E2E: boot ' "$log")
		if [ "${n:-0}" -gt "$boots" ]; then
			e2e_log "guest $name booted more than $boots times; stopped"
			kill "$E2E_QEMU_PID"
			stopped=1
		fi
		if [ -n "${E2E_VHOSTD_PID:-}" ] && ! kill -0 "$E2E_VHOSTD_PID" 2>/dev/null; then
			e2e_log "vhostd died while guest $name ran; stopped the guest"
			kill "$E2E_QEMU_PID"
			stopped=1
		fi
		sleep 0.2
	done
	wait "$E2E_QEMU_PID"
	rc=$?
	E2E_QEMU_PID=
	rm -f "$E2E_RUN_DIR/$name.initrd"
	[ "$stopped" = 1 ] && return 1
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		e2e_log "guest $name killed after ${E2E_GUEST_TIMEOUT}s timeout"
		rc=124
	elif [ "$rc" != 0 ]; then
		e2e_log "qemu for $name exited with $rc:"
		sed 's/^/#   /' "$E2E_RUN_DIR/$name.qemu.log" | tail -10
	fi
	return $rc
}
