#!/usr/bin/env bash
# tessera-aot: bad input gives a clear message, exit status 1 (2 for a bad
# command line) and no output; identical inputs give identical bytes.
set -u
AOT=$1 # then a plugin registering no kernel, and one registering "softmax"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect() { # expect STATUS MESSAGE -- ARGS...
  local want=$1 msg=$2; shift 3
  out=$("$AOT" "$@" 2>&1); rc=$?
  [ "$rc" = "$want" ] || fail "exit $rc (wanted $want) for: $* -> $out"
  echo "$out" | grep -qF -- "$msg" || fail "message '$msg' not in: $out"
}
expect 1 "unknown kernel 'nope' (known: vector_add" -- --name k --out "$W/a" nope
expect 1 "kernel 'softmax' has no parameter 'BLOK'" -- --name k --out "$W/b" softmax:BLOK=4
expect 1 "not a power of two" -- --name k --out "$W/c" softmax:BLOCK=1000
expect 1 "unsupported GPU target 'sm_12345'" -- --name k --out "$W/d" --target sm_12345 softmax
expect 2 "--name must be a C++ identifier" -- --name 'a-b' --out "$W/e" softmax
expect 2 "--name must be a C++ identifier (not a keyword), got '1lib'" -- --name 1lib --out "$W/e" softmax
expect 2 "--name must be a C++ identifier (not a keyword), got 'int'" -- --name int --out "$W/e" softmax
expect 1 "registers no kernel" -- --name k --out "$W/g" --plugin "$2" softmax
expect 1 "registers a kernel named 'softmax', like the library kernel; rename it" -- --name k --out "$W/h" --plugin "$3" softmax
expect 2 "unknown option '--bogus'" -- --bogus
TESSERA_PTXAS=/nonexistent PATH=/usr/bin:/bin expect 1 "--cubin needs ptxas" -- --name k --out "$W/f" --cubin softmax
for d in a b c d e f g h; do [ ! -e "$W/$d" ] || fail "partial output left in $W/$d"; done
"$AOT" --name k --out "$W/r1" vector_add softmax:BLOCK=2048 || fail "compile 1"
"$AOT" --name k --out "$W/r2" vector_add softmax:BLOCK=2048 || fail "compile 2"
cmp "$W/r1/k.cpp" "$W/r2/k.cpp" && cmp "$W/r1/k.h" "$W/r2/k.h" && \
  cmp "$W/r1/k.manifest.json" "$W/r2/k.manifest.json" || fail "outputs differ between runs"
# An autotune result becomes a specialization; two specializations of one
# kernel get a dispatcher.
printf 'best BLOCK=2048,INT_MULTIPLE=16,num_warps=8 0.2\nkernel softmax\n' > "$W/s.tune"
"$AOT" --name k --out "$W/t" --tuned "$W/s.tune" softmax || fail "--tuned"
grep -q '"params": "BLOCK=2048,INT_MULTIPLE=16,dtype=f16,num_warps=8"' "$W/t/k.manifest.json" \
  || fail "--tuned config not in the manifest"
grep -q "void softmax(tessera::rt::Grid grid" "$W/t/k.h" || fail "no dispatcher"
echo "junk" > "$W/bad.tune"
expect 1 "is not an autotune result" -- --name k --out "$W/u" --tuned "$W/bad.tune" softmax
[ ! -e "$W/u" ] || fail "partial output left in $W/u"
echo "tessera-aot error cases, --tuned and reproducibility: ok"
