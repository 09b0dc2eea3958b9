#!/usr/bin/env bash
# Regenerates Sources/Shared/Protocol/sleepfold.pb.swift from sleepfold.proto.
# Needs protoc (apt: protobuf-compiler) and protoc-gen-swift 1.39.0 on PATH or
# in $PROTOC_GEN_SWIFT. To build the plugin:
#   git clone <swift-protobuf> /tmp/swift-protobuf && cd /tmp/swift-protobuf
#   git checkout 1.39.0 && swift build -c release --product protoc-gen-swift
#   export PROTOC_GEN_SWIFT=/tmp/swift-protobuf/.build/release/protoc-gen-swift
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../Sources/Shared/Protocol"
plugin="${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift)}"
mkdir -p "$out"
protoc --plugin=protoc-gen-swift="$plugin" \
       --swift_opt=Visibility=Public \
       --swift_out="$out" \
       -I "$here" "$here/sleepfold.proto"
echo "wrote $out/sleepfold.pb.swift"
