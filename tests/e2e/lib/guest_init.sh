#!/bin/sh
# /init of the e2e guest: drivers, pseudo file systems, then the test script; powers off at the end.
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmp /tmp
for m in $(cat /lib/modules/order); do
	insmod "/lib/modules/$m.ko" || echo "E2E: fail insmod-$m"
done
echo "E2E: boot $(cut -d' ' -f1 /proc/uptime)"
. /e2e/env.sh
[ -n "${E2E_WATCHDOG:-}" ] && (sleep "$E2E_WATCHDOG" && . /e2e/lib.sh && e2e_dump_stuck) &
(cd /e2e && . ./lib.sh && . ./env.sh && . ./script.sh)
echo "E2E: done $(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
