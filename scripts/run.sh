#!/bin/sh
# `make run`: starts vhostd in the foreground with a 1 GiB malloc disk served as vhost-blk
# controller vhost.0, sockets in ./run/, and prints how to attach a QEMU guest to it.
set -e
build=${1:-build}
dir=$(pwd)/run
mkdir -p "$dir"
cat >"$dir/vhostd.json" <<JSON
{"subsystems": [
  {"subsystem": "bdev", "config": [
    {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 2097152, "block_size": 512}}]},
  {"subsystem": "vhost_blk", "config": [
    {"method": "vhost_create_blk_controller", "params": {"ctrlr": "vhost.0", "dev_name": "Malloc0"}}]}
]}
JSON
cat <<TXT
vhostd: 1 GiB malloc disk Malloc0 as vhost-blk controller vhost.0
  socket:  $dir/vhost.0
  RPC:     $dir/vhostd.sock   (try: $build/app/vhostctl -s $dir/vhostd.sock vhost_get_controllers)
Attach a QEMU guest with:
  -object memory-backend-memfd,id=mem,size=1G,share=on -numa node,memdev=mem -m 1G \\
  -chardev socket,id=vhost0,path=$dir/vhost.0 \\
  -device vhost-user-blk-pci,chardev=vhost0,num-queues=2
Ctrl-C stops it.
TXT
exec "$build/app/vhostd" -S "$dir" -r "$dir/vhostd.sock" --config "$dir/vhostd.json"
