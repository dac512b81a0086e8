#!/usr/bin/env bash
# Builds fuzz/corpus/<target>/ from the payloads the crate is tested with: the shared
# fixtures (../shared/fixtures/eureka), the Java captures of tests/wire/java, the spec's
# canonical examples (EX-1..EX-5) and the small hand-written seeds in fuzz/seeds/.
# A copy step only (no build); run it from anywhere, as often as you like: it only adds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
fixtures=$root/../shared/fixtures/eureka
spec=$root/../shared/spec/PROTOCOL.md
corpus=${CORPUS:-$here/corpus}
mkdir -p "$corpus"/{json_reader,xml_reader,register,router,replication_batch,delta_merge}

# The first fenced block after the heading `#### EX-n ` of the spec.
example() {
  awk -v h="#### $1 " 'index($0, h) == 1 { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$spec"
}

for f in "$fixtures"/*/*.json "$root"/tests/wire/java/*.json; do
  cp "$f" "$corpus/json_reader/$(basename "$f")"
done
for f in "$fixtures"/*/*.xml "$root"/tests/wire/java/*.xml; do
  cp "$f" "$corpus/xml_reader/$(basename "$f")"
done
for ex in EX-1 EX-2 EX-3 EX-5; do example "$ex" > "$corpus/json_reader/spec-$ex.json"; done
example EX-4 > "$corpus/xml_reader/spec-EX-4.xml"

# Register bodies for POST /apps/MYAPP (the target's path).
cp "$fixtures/derived/DERIVED__legacy-jackson__POST-apps-MYAPP__register-body.json" \
   "$fixtures/derived/DERIVED__xstream-xml__GET-apps-MYAPP-id__instance.xml" "$corpus/register/"
for ex in EX-1 EX-5; do example "$ex" | sed 's/ORDERS/MYAPP/g' > "$corpus/register/spec-$ex.json"; done
example EX-4 | sed 's/ORDERS/MYAPP/g' > "$corpus/register/spec-EX-4.xml"

cp "$fixtures/derived/DERIVED__legacy-jackson__POST-peerreplication-batch__request.json" \
   "$corpus/replication_batch/"

# Delta merge inputs: COPY \0 DELTA.
pair() { { cat "$1"; printf '\0'; cat "$2"; } > "$corpus/delta_merge/$3"; }
pair "$root/tests/wire/java/java-2.0.6__apps.json" "$root/tests/wire/java/java-2.0.6__delta.json" java-json
pair "$root/tests/wire/java/java-2.0.6__apps.xml" "$root/tests/wire/java/java-2.0.6__delta.xml" java-xml
pair "$root/tests/wire/java/java-2.0.6__apps.json" "$root/tests/wire/java/java-2.0.6__delta.xml" java-mixed
pair "$fixtures/captured/steeltoe__EurekaDiscoveryClientTest__FooAddedJson__full-registry.json" \
     "$fixtures/captured/steeltoe__EurekaDiscoveryClientTest__FooModifiedJson__delta-modified.json" steeltoe
example EX-2 > "$corpus/delta_merge/.ex2"; example EX-3 > "$corpus/delta_merge/.ex3"
pair "$corpus/delta_merge/.ex2" "$corpus/delta_merge/.ex3" spec-ex2-ex3
rm "$corpus/delta_merge/.ex2" "$corpus/delta_merge/.ex3"

for t in router replication_batch register; do
  cp "$here/seeds/$t"/* "$corpus/$t/"
done
for t in "$corpus"/*; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"; done
