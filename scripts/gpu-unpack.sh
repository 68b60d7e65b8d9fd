# Sourced by the GPU-machine scripts (gpu-run.sh, gpu-attention-*.sh,
# gpu-clock-probe.sh): unpacks ./bundle's xz-compressed programs into
# /tmp/tessera-bin.
mkdir -p /tmp/tessera-bin
for f in bundle/*.xz; do xz -dc "$f" > "/tmp/tessera-bin/$(basename "$f" .xz)"; done
chmod +x /tmp/tessera-bin/*
