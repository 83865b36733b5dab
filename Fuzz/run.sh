#!/bin/sh
# Longer fuzzing with libFuzzer (not part of `swift test`; the seeded cases in Tests/FuzzTests are).
#   Fuzz/run.sh safetensors [libFuzzer options, e.g. -max_total_time=600]
#   Fuzz/run.sh sentencepiece -max_total_time=600
# Each harness is compiled with its reader's sources and -sanitize=fuzzer,address; the corpus starts from
# the repository's own files (Fuzz/corpus-<name>/, created on first run). Crashes are written as crash-*.
set -eu
cd "$(dirname "$0")/.."
target=${1:?safetensors or sentencepiece}; shift
out=.build/fuzz; mkdir -p "$out"
case "$target" in
  safetensors)
    swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name FuzzSafeTensors \
      Fuzz/SafeTensorsFuzzer.swift $(ls Sources/SafeTensors/*.swift | grep -v SafeTensorsWriter) -o "$out/safetensors"
    seeds="Tests/BERTTests/Fixtures/tiny/model.safetensors Tests/KernelsTests/Fixtures/kernels.safetensors" ;;
  sentencepiece)
    swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name FuzzSentencePiece \
      Fuzz/SentencePieceFuzzer.swift Sources/SentencePiece/*.swift -o "$out/sentencepiece"
    seeds="Tests/SentencePieceTests/Fixtures/bpe.model Tests/SentencePieceTests/Fixtures/digit-comma.model Sources/SentencePiece/Resources/emotion-dialogue.model" ;;
  *) echo "unknown target $target" >&2; exit 64 ;;
esac
corpus=Fuzz/corpus-$target
if [ ! -d "$corpus" ]; then mkdir -p "$corpus"; for s in $seeds; do cp "$s" "$corpus/"; done; fi
exec "$out/$target" "$corpus" "$@"
