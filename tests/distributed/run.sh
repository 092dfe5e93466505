#!/usr/bin/env bash
# Journey in its production shape on one Docker host, then the tests that need it:
#
#   - a MongoDB replica set per service (one member, --wiredTigerCacheSizeGB=0.25, keyfile and
#     accounts), formed by the cluster's own k8s/components/mongodb/bootstrap.js, and one more set
#     for the MongoDB contract suites;
#   - Valkey with the cluster's k8s/components/valkey/valkey.conf, as the Redis Streams broker;
#   - each service (two touchpoint replicas on one store) as its own journey-host process with the
#     settings of its Deployment, and a daprd sidecar in the process's network namespace, as a pod's
#     containers share one; the sidecars load the cluster's journey-pubsub component and Resiliency.
#
# Then it runs every MongoDB contract suite against the contract set, and the scenarios of
# tests/Distributed.Tests against the services. tests/distributed/README.md says what each checks
# and what has run where.
#
# Needs only bash, Docker (engine and CLI) and the .NET SDK of global.json. Usage:
#   tests/distributed/run.sh                    contract suites and scenarios
#   tests/distributed/run.sh --contracts-only   MongoDB contract suites only
#   tests/distributed/run.sh --scenarios-only   the services and the scenarios only
#   tests/distributed/run.sh --render-only DIR  write the sidecars' Dapr resources into DIR and stop
#                                              (no Docker; the tests check them on any machine)
# Logs of every container and the test results land in $JOURNEY_DISTRIBUTED_OUT
# (default tests/distributed/out). Every container and the network are removed on exit.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${JOURNEY_DISTRIBUTED_OUT:-$HERE/out}
SERVICES=(touchpoint profile consent recommendation)
# Two touchpoint processes on one store: the scenarios check that an event is still published once.
REPLICAS=(touchpoint-1 touchpoint-2 profile consent recommendation)

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "error: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# What the cluster pins, read from where the cluster pins it, so this run follows every upgrade.

pinned_image() { # file, image name followed by ':'
    local image
    image=$(grep -m1 -oE "image: *$2[^[:space:]\"]+" "$ROOT/$1" | sed -E 's/^image: *//' || true)
    [[ -n $image ]] || die "no $2 image in $1"
    printf '%s\n' "$image"
}

dapr_version() {
    # The Helm install command of k8s/README.md ("Prerequisites") pins the control plane, and so the
    # sidecar version.
    local version
    version=$(grep -m1 -oE -- '--version [0-9]+\.[0-9]+\.[0-9]+ -f k8s/platform/dapr-values.yaml' "$ROOT/k8s/README.md" | awk '{print $2}' || true)
    [[ -n $version ]] || die "k8s/README.md pins no Dapr version (--version X.Y.Z -f k8s/platform/dapr-values.yaml)"
    printf '%s\n' "$version"
}

aspnet_image() {
    local image
    image=$(grep -m1 -oE '<ContainerBaseImage>[^<]+' "$ROOT/services/Host/Journey.Host.csproj" | sed 's/<ContainerBaseImage>//' || true)
    [[ -n $image ]] || die "services/Host/Journey.Host.csproj names no ContainerBaseImage"
    printf '%s\n' "$image"
}

# ---------------------------------------------------------------------------------------------
# The sidecars' resources: the cluster's files, changed only where a cluster provides something a
# Docker host does not.

render_dapr() { # directory, Valkey password
    local dir=$1 pubsub=$ROOT/k8s/base/dapr/pubsub.yaml
    mkdir -p "$dir/resources" "$dir/secrets"
    # The component exactly as the cluster has it (redisHost valkey:6379 is the Valkey container's
    # network alias). Its password is a secretKeyRef to the Secret journey-valkey, which a
    # standalone daprd has no Kubernetes secret store to read: auth.secretStore points it at a
    # local file store holding the same name and key (dapr pkg/runtime/processor/secret and
    # components-contrib secretstores/local/file with multiValued, v1.16).
    grep -q 'secretKeyRef:' "$pubsub" || die "$pubsub reads no password from a Secret; update render_dapr"
    {
        cat "$pubsub"
        [[ -z $(tail -c1 "$pubsub") ]] || echo
        printf 'auth:\n  secretStore: journey-secrets\n'
    } >"$dir/resources/pubsub.yaml"
    cp "$ROOT/k8s/base/dapr/resiliency.yaml" "$dir/resources/resiliency.yaml"
    cp "$HERE/dapr/secretstore.yaml" "$dir/resources/secretstore.yaml"
    printf '{"journey-valkey": {"password": "%s"}}\n' "$2" >"$dir/secrets/secrets.json"
    # The cluster's sidecar Configuration without tracing (its collector does not exist here) and
    # without accessControl (it rests on Sentry's mTLS identities; no control plane runs here, and
    # no service invokes another). The API allowlist and metrics stay as they are.
    # A block ends at the next line indented two spaces or less; comments at that indent are held
    # until the key they describe shows whether it stays.
    awk '
        /^  (tracing|accessControl):/ { skip = 1; held = ""; next }
        skip && /^(  )?[^ ]/ { skip = 0 }
        skip { next }
        /^  #/ { held = held $0 "\n"; next }
        { printf "%s", held; held = ""; print }
        END { printf "%s", held }
    ' "$ROOT/k8s/base/dapr/configuration.yaml" >"$dir/configuration.yaml"
    # daprd runs as the distroless image's nonroot user (65532), not as the caller.
    chmod -R a+rX "$dir"
}

if [[ ${1:-} == --render-only ]]; then
    [[ -n ${2:-} ]] || die "usage: $0 --render-only DIR"
    render_dapr "$2" "${VALKEY_PASSWORD:-render-only}"
    {
        echo "mongo=$(pinned_image k8s/components/mongodb/touchpoint.yaml mongo:)"
        echo "valkey=$(pinned_image k8s/components/valkey/valkey.yaml valkey/valkey:)"
        echo "daprd=daprio/daprd:$(dapr_version)"
        echo "aspnet=$(aspnet_image)"
    } >"$2/images"
    exit 0
fi

RUN_CONTRACTS=1
RUN_SCENARIOS=1
case ${1:-} in
    "") ;;
    --contracts-only) RUN_SCENARIOS=0 ;;
    --scenarios-only) RUN_CONTRACTS=0 ;;
    *) die "unknown option $1 (see the comment at the top of $0)" ;;
esac

MONGO_IMAGE=$(pinned_image k8s/components/mongodb/touchpoint.yaml mongo:)
VALKEY_IMAGE=$(pinned_image k8s/components/valkey/valkey.yaml valkey/valkey:)
DAPRD_IMAGE=daprio/daprd:$(dapr_version)
ASPNET_IMAGE=$(aspnet_image)

command -v docker >/dev/null || die "docker is not installed"
command -v dotnet >/dev/null || die "the .NET SDK (dotnet) is not installed"
docker info >/dev/null 2>&1 || die "no Docker engine answers ('docker info' fails)"

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
random_base64() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }

PREFIX=journey-dist-$(random_hex 3)
NETWORK=
CONTAINERS=()
WATCHER=
WORK=$(mktemp -d "${TMPDIR:-/tmp}/journey-distributed.XXXXXX")
RESULTS=()
FAILED=0

cleanup() {
    local status=$?
    set +e
    trap - ERR
    if [[ -n $WATCHER ]]; then
        kill "$WATCHER" 2>/dev/null
        wait "$WATCHER" 2>/dev/null
    fi
    if ((${#CONTAINERS[@]})); then
        mkdir -p "$OUT/logs"
        for c in "${CONTAINERS[@]}"; do
            docker logs "$c" >"$OUT/logs/${c#"$PREFIX"-}.log" 2>&1
        done
        log "container logs: $OUT/logs"
        # A paused container is unpaused first, so that its removal cannot hang on the freezer.
        docker unpause "${CONTAINERS[@]}" >/dev/null 2>&1
        docker rm -f -v "${CONTAINERS[@]}" >/dev/null 2>&1
    fi
    [[ -z $NETWORK ]] || docker network rm "$NETWORK" >/dev/null 2>&1
    rm -rf "$WORK"
    if ((${#RESULTS[@]})); then
        echo
        echo "distributed run, results:"
        printf '  %s\n' "${RESULTS[@]}"
    fi
    if ((status == 0 && FAILED)); then
        status=1
    fi
    if ((status != 0)); then
        echo "distributed run: FAILED (exit $status)"
    else
        echo "distributed run: passed"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'log "error: line $LINENO: \"$BASH_COMMAND\" failed"' ERR

record() { # PASS|FAIL, what
    RESULTS+=("$1 $2")
    [[ $1 == PASS ]] || FAILED=1
    log "$1 $2"
}

# Runs a container and remembers it for the clean-up, before it exists, so that a run that fails
# half way is removed too.
start() { # name, docker run arguments...
    local name=$1
    shift
    CONTAINERS+=("$name")
    docker run -d --name "$name" "$@" >/dev/null
}

host_port() { # container, container port: the 127.0.0.1 port Docker published it on
    docker port "$1" "$2/tcp" | grep -m1 -oE '127\.0\.0\.1:[0-9]+' | cut -d: -f2
}

# An HTTP status with nothing but bash (/dev/tcp): empty when nothing answers yet.
http_status() { # host port, path
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" &&
            printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&3 &&
            IFS=' ' read -r -t 5 _ code _ <&3 &&
            printf '%s' "$code"
    ) 2>/dev/null || true
}

running() { [[ $(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null) == true ]]; }

show_tail() { # container
    log "last lines of $1:"
    docker logs --tail 60 "$1" 2>&1 | sed 's/^/    /'
}

# Counts a TRX file's test results: "passed failed skipped".
trx_counts() {
    local passed failed skipped
    passed=$({ grep -oE '<UnitTestResult [^>]*outcome="Passed"' "$1" || true; } | wc -l)
    failed=$({ grep -oE '<UnitTestResult [^>]*outcome="Failed"' "$1" || true; } | wc -l)
    skipped=$({ grep -oE '<UnitTestResult [^>]*outcome="NotExecuted"' "$1" || true; } | wc -l)
    echo "$((passed)) $((failed)) $((skipped))"
}

# Runs one test project with a filter and records it: it passes only when every test it ran
# passed and none was skipped (a skipped test would mean the environment did not reach it).
run_tests() { # label, project, filter (empty for all), result directory, VAR=value...
    local label=$1 project=$2 filter=$3 results=$4 passed failed skipped
    shift 4
    local args=(test "$ROOT/$project" --logger "trx;LogFileName=results.trx" --results-directory "$results"
        --logger "console;verbosity=normal")
    [[ -z $filter ]] || args+=(--filter "$filter")
    mkdir -p "$results"
    log "dotnet test $project${filter:+ --filter \"$filter\"}"
    env "$@" dotnet "${args[@]}" 2>&1 | tee "$results/output.log" | grep -E '^\s*(Passed|Failed|Skipped) |error|Total tests|Passed!|Failed!' || true
    if [[ ! -f $results/results.trx ]]; then
        record FAIL "$label: no results (see $results/output.log)"
        return
    fi
    read -r passed failed skipped < <(trx_counts "$results/results.trx")
    if ((failed == 0 && skipped == 0 && passed > 0)); then
        record PASS "$label: $passed passed"
    else
        record FAIL "$label: $passed passed, $failed failed, $skipped skipped"
    fi
}

# ---------------------------------------------------------------------------------------------
log "images: $MONGO_IMAGE, $VALKEY_IMAGE, $DAPRD_IMAGE, $ASPNET_IMAGE"
rm -rf "$OUT/logs" "$OUT/contracts" "$OUT/scenarios"
mkdir -p "$OUT"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# Built before anything starts, so that no container waits on a compiler.
if ((RUN_SCENARIOS)); then
    log "publishing services/Host and building tests/Distributed.Tests"
    dotnet publish "$ROOT/services/Host" -c Release -o "$WORK/host" --nologo -v quiet >"$OUT/publish.log" 2>&1 ||
        { tail -40 "$OUT/publish.log"; die "dotnet publish services/Host failed"; }
    dotnet build "$ROOT/tests/Distributed.Tests" --nologo -v quiet >"$OUT/build.log" 2>&1 ||
        { tail -40 "$OUT/build.log"; die "dotnet build tests/Distributed.Tests failed"; }
fi

for image in "$MONGO_IMAGE" "$VALKEY_IMAGE" "$DAPRD_IMAGE" "$ASPNET_IMAGE"; do
    docker pull -q "$image" >/dev/null || die "cannot pull $image"
done

NETWORK=$PREFIX-net
docker network create "$NETWORK" >/dev/null

# ---------------------------------------------------------------------------------------------
# MongoDB: one replica set per service, as k8s/components/mongodb runs them: mongod itself (not the
# image's entrypoint) as the image's mongodb user, keyfile authentication, a 0.25 GB cache, and the
# cluster's bootstrap.js run by hand where the kubelet runs it as a postStart hook. Each member is
# reachable under its cluster DNS name (<set>-0.<set>.journey.svc) as a network alias, so the
# replica set configuration and the services' connection strings are the cluster's.

SETS=()
if ((RUN_CONTRACTS)); then SETS+=(contracts); fi
if ((RUN_SCENARIOS)); then SETS+=("${SERVICES[@]}"); fi
declare -A ROOT_PASSWORD APP_PASSWORD
for set in "${SETS[@]}"; do
    ROOT_PASSWORD[$set]=$(random_hex 24)
    APP_PASSWORD[$set]=$(random_hex 24)
    # shellcheck disable=SC2016 # expanded by the container's shell, not this one
    start "$PREFIX-$set-mongodb" --network "$NETWORK" --network-alias "$set-mongodb-0.$set-mongodb.journey.svc" \
        --user 999:999 --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
        --memory 1g --cpus 1 -p 127.0.0.1::27017 \
        -e JOURNEY_KEYFILE="$(random_base64 756)" \
        -v "$ROOT/k8s/components/mongodb/bootstrap.js:/etc/mongodb/bootstrap/bootstrap.js:ro" \
        --entrypoint sh "$MONGO_IMAGE" \
        -c 'umask 077 && printf %s "$JOURNEY_KEYFILE" >/tmp/keyfile && exec mongod "$@"' mongod \
        --replSet=rs0 --bind_ip_all --port=27017 --dbpath=/data/db --keyFile=/tmp/keyfile --wiredTigerCacheSizeGB=0.25
done

for set in "${SETS[@]}"; do
    log "forming replica set $set-mongodb (bootstrap.js)"
    docker exec \
        -e POD_NAME="$set-mongodb-0" -e POD_NAMESPACE=journey -e MONGODB_SERVICE="$set-mongodb" \
        -e MONGODB_REPLICA_SET=rs0 -e MONGODB_DATABASE="journey-$set" \
        -e MONGODB_ROOT_USERNAME=root -e MONGODB_ROOT_PASSWORD="${ROOT_PASSWORD[$set]}" \
        -e MONGODB_APP_USERNAME="$set" -e MONGODB_APP_PASSWORD="${APP_PASSWORD[$set]}" -e HOME=/tmp \
        "$PREFIX-$set-mongodb" mongosh --quiet --norc --nodb --file /etc/mongodb/bootstrap/bootstrap.js ||
        { show_tail "$PREFIX-$set-mongodb"; die "bootstrap.js failed on $set-mongodb"; }
done

# From this machine: the member's name does not resolve here, so the driver talks to the published
# port directly (a direct connection to a primary still runs transactions).
root_uri() { # set
    echo "mongodb://root:${ROOT_PASSWORD[$1]}@127.0.0.1:$(host_port "$PREFIX-$1-mongodb" 27017)/?directConnection=true&authSource=admin"
}

# ---------------------------------------------------------------------------------------------
if ((RUN_CONTRACTS)); then
    # Every class that runs a contract suite against MongoDB says so by implementing IRequiresMongo
    # (tests/Journey.Testing/StoreTests.cs); each project runs its own, by class name.
    declare -A FILTERS
    while IFS= read -r file; do
        dir=$(dirname "$file")
        until compgen -G "$dir/*.csproj" >/dev/null; do
            dir=$(dirname "$dir")
            [[ $dir == "$ROOT"/tests* ]] || die "no project above $file"
        done
        project=${dir#"$ROOT"/}
        while read -r class; do
            FILTERS[$project]+="${FILTERS[$project]:+|}FullyQualifiedName~.$class."
        done < <(grep -oE 'class [A-Za-z0-9_]+ *:[^{]*\bIRequiresMongo\b' "$file" | awk '{print $2}')
    done < <(grep -rlE --include='*.cs' '\bIRequiresMongo\b' "$ROOT/tests" | grep -vE '/(bin|obj)/|/Journey\.Testing/' | sort)
    ((${#FILTERS[@]})) || die "no class implements IRequiresMongo under tests/"

    contracts_uri=$(root_uri contracts)
    mapfile -t projects < <(printf '%s\n' "${!FILTERS[@]}" | sort)
    for project in "${projects[@]}"; do
        run_tests "MongoDB contracts, $project" "$project" "${FILTERS[$project]}" "$OUT/contracts/$(basename "$project")" \
            JOURNEY_TEST_MONGODB="$contracts_uri"
    done
fi

if ((!RUN_SCENARIOS)); then
    exit 0
fi

# ---------------------------------------------------------------------------------------------
# Valkey, as k8s/components/valkey runs it: the server itself as the image's valkey user, the
# cluster's valkey.conf, the password on the command line.
VALKEY_PASSWORD=$(random_hex 24)
start "$PREFIX-valkey" --network "$NETWORK" --network-alias valkey \
    --user 999:999 --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
    --memory 512m --cpus 1 -p 127.0.0.1::6379 \
    -v "$ROOT/k8s/components/valkey/valkey.conf:/etc/valkey/valkey.conf:ro" \
    --entrypoint valkey-server "$VALKEY_IMAGE" /etc/valkey/valkey.conf --requirepass "$VALKEY_PASSWORD"
for _ in $(seq 60); do
    [[ $(docker exec -e VALKEYCLI_AUTH="$VALKEY_PASSWORD" "$PREFIX-valkey" valkey-cli ping 2>/dev/null) == PONG ]] && break
    sleep 1
done
[[ $(docker exec -e VALKEYCLI_AUTH="$VALKEY_PASSWORD" "$PREFIX-valkey" valkey-cli ping 2>/dev/null) == PONG ]] ||
    { show_tail "$PREFIX-valkey"; die "Valkey does not answer"; }

render_dapr "$WORK/dapr" "$VALKEY_PASSWORD"

# One development token issuer for every process: its key is written once here, in the data
# folder all of them mount (with Journey:Auth:Authority unset each process is its own issuer, as
# in the dev overlay), and the token printed for the scenarios.
mkdir -p "$WORK/data"
TOKEN=$(dotnet "$WORK/host/Journey.Host.dll" token --Journey:Storage:DataDirectory="$WORK/data" --subject distributed-tests)
APP_API_TOKEN=$(random_hex 32)
IDENTIFIER_HASH_KEY=$(random_base64 32)
ENCRYPTION_KEY=$(random_base64 32)

# A service's settings as its Deployment has them: the shared journey.env and its own config.env,
# then the Secret references of k8s/base/<service>/deployment.yaml and the app token of
# k8s/base/kustomization.yaml. Only what this host cannot provide differs: no OTLP collector, and
# the token issuer's folder.
declare -A OVERRIDDEN=([OTEL_EXPORTER_OTLP_ENDPOINT]=1 [Journey__Storage__DataDirectory]=1)
app_env() { # service: fills APP_ENV
    local file line
    APP_ENV=()
    for file in "$ROOT/k8s/base/shared/journey.env" "$ROOT/k8s/base/$1/config.env"; do
        while IFS= read -r line || [[ -n $line ]]; do
            [[ $line =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || continue
            [[ -z ${OVERRIDDEN[${line%%=*}]:-} ]] || continue
            APP_ENV+=(-e "$line")
        done <"$file"
    done
    APP_ENV+=(-e OTEL_EXPORTER_OTLP_ENDPOINT= -e Journey__Storage__DataDirectory=/data -e HOME=/tmp
        -e "Journey__Storage__Mongo__ConnectionString=mongodb://$1:${APP_PASSWORD[$1]}@$1-mongodb-0.$1-mongodb.journey.svc:27017/?replicaSet=rs0"
        -e "Journey__Privacy__IdentifierHashKey=$IDENTIFIER_HASH_KEY"
        -e "APP_API_TOKEN=$APP_API_TOKEN")
    # Only the profile Deployment gets the encryption key (k8s/base/profile/deployment.yaml).
    [[ $1 != profile ]] || APP_ENV+=(-e "Journey__Privacy__EncryptionKey=$ENCRYPTION_KEY")
}

# A pod: the app container owns the network namespace (and the published ports), the sidecar
# joins it (--network container:), so app and sidecar reach each other on localhost exactly as in
# a pod: daprd calls the app on 127.0.0.1:8080 over h2c, the app's Dapr client uses daprd's
# default ports 3500 (HTTP) and 50001 (gRPC). Resource limits are the Deployment's and the
# sidecar annotations'.
for replica in "${REPLICAS[@]}"; do
    service=${replica%-[0-9]}
    app_env "$service"
    start "$PREFIX-$replica" --network "$NETWORK" --hostname "$replica" \
        --user "$(id -u):$(id -g)" --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
        --memory 512m --cpus 1 -p 127.0.0.1::8080 -p 127.0.0.1::3500 \
        -v "$WORK/host:/app:ro" -v "$WORK/data:/data" -w /app "${APP_ENV[@]}" \
        "$ASPNET_IMAGE" dotnet /app/Journey.Host.dll
    # daprd flags as the Dapr 1.16 injector writes them (pkg/injector/patcher/sidecar_container.go)
    # for the Deployment's annotations; APP_API_TOKEN is what daprd sends as dapr-api-token
    # (pkg/security/token.go). No placement or scheduler: pub/sub needs neither.
    start "$PREFIX-$replica-daprd" --network "container:$PREFIX-$replica" \
        --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges --memory 256m --cpus 0.5 \
        -e "APP_API_TOKEN=$APP_API_TOKEN" \
        -v "$WORK/dapr/resources:/dapr/resources:ro" -v "$WORK/dapr/secrets:/dapr/secrets:ro" \
        -v "$WORK/dapr/configuration.yaml:/dapr/configuration.yaml:ro" \
        --entrypoint /daprd "$DAPRD_IMAGE" \
        --mode standalone --app-id "$service" --app-port 8080 --app-protocol h2c \
        --dapr-http-port 3500 --dapr-grpc-port 50001 --metrics-port 9090 --enable-metrics \
        --resources-path /dapr/resources --config /dapr/configuration.yaml \
        --log-level info --log-as-json --dapr-graceful-shutdown-seconds 20
done

# daprd's /v1.0/healthz answers 204 once it has found the app's port and subscribed for it
# (dapr pkg/runtime/runtime.go, initRuntime); a container that stops meanwhile fails the run.
for replica in "${REPLICAS[@]}"; do
    port=$(host_port "$PREFIX-$replica" 3500)
    deadline=$((SECONDS + 180))
    until [[ $(http_status "$port" /v1.0/healthz) == 2* ]]; do
        for c in "$PREFIX-$replica" "$PREFIX-$replica-daprd"; do
            running "$c" || { show_tail "$c"; die "$c stopped"; }
        done
        ((SECONDS < deadline)) || { show_tail "$PREFIX-$replica"; show_tail "$PREFIX-$replica-daprd"; die "$replica's sidecar not ready after 180 s"; }
        sleep 1
    done
    log "$replica and its sidecar are up"
done

# The scenarios ask for a store outage by dropping "<id>.request" files ("pause <set>-mongodb" or
# "unpause <set>-mongodb") here; this loop does it and answers "<id>.done" ("ok" or the error).
CONTROL=$WORK/control
mkdir -p "$CONTROL"
control_loop() {
    local request action target result
    while :; do
        for request in "$CONTROL"/*.request; do
            [[ -e $request ]] || continue
            read -r action target _ <"$request" || true
            if [[ $action =~ ^(pause|unpause)$ && $target =~ ^[a-z]+-mongodb$ && " ${SETS[*]} " == *" ${target%-mongodb} "* ]]; then
                if result=$(docker "$action" "$PREFIX-$target" 2>&1); then result=ok; fi
            else
                result="refused: only pause or unpause of <set>-mongodb"
            fi
            log "control: $action $target: $result"
            rm -f "$request"
            printf '%s\n' "$result" >"${request%.request}.tmp"
            mv "${request%.request}.tmp" "${request%.request}.done"
        done
        sleep 0.2
    done
}
control_loop &
WATCHER=$!

endpoint() { echo "http://127.0.0.1:$(host_port "$PREFIX-$1" 8080)"; }
settings=(
    "touchpoint=$(endpoint touchpoint-1)"
    "touchpoint2=$(endpoint touchpoint-2)"
    "profile=$(endpoint profile)"
    "consent=$(endpoint consent)"
    "recommendation=$(endpoint recommendation)"
    "token=$TOKEN"
    "valkey=127.0.0.1:$(host_port "$PREFIX-valkey" 6379)"
    "valkeyPassword=$VALKEY_PASSWORD"
    "touchpointMongo=$(root_uri touchpoint)"
    "pubsub=$WORK/dapr/resources/pubsub.yaml"
    "control=$CONTROL"
)
DISTRIBUTED=$(IFS=';' && echo "${settings[*]}")
run_tests "scenarios, tests/Distributed.Tests" tests/Distributed.Tests "" "$OUT/scenarios" \
    JOURNEY_TEST_DISTRIBUTED="$DISTRIBUTED"

for replica in "${REPLICAS[@]}"; do
    for c in "$PREFIX-$replica" "$PREFIX-$replica-daprd"; do
        running "$c" || record FAIL "$c stopped during the run (log: $OUT/logs/${c#"$PREFIX"-}.log)"
    done
done
