# shellcheck shell=sh disable=SC2086,SC2046,SC2154 # runs after lib.sh; disks are vd[a-z]
# Guest side of test_harness_qsd.sh: env SERIAL, SECTORS.
e2e_find_disk disk-found "$SERIAL"
e2e_expect_eq disk-size "$(cat /sys/block/vda/size)" "$SECTORS"
e2e_expect_eq disk-queues "$(ls /sys/block/vda/mq | wc -l)" 2
e2e_check fio-verify e2e_fio_verify /dev/vda --name=v --size=8M
