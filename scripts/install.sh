#!/usr/bin/env bash
# Installs the C library of the harness under a prefix, the way C and C++ projects (and the Go module) expect it:
#
#   PREFIX/include/nats_server.h, nats_server.hpp
#   PREFIX/lib/libnats_server.a
#   PREFIX/lib/libnats_server.so.X.Y.Z, libnats_server.so.SOVERSION -> .so.X.Y.Z, libnats_server.so -> .so.SOVERSION
#   PREFIX/lib/pkgconfig/nats_server.pc                  (pkg-config nats_server)
#   PREFIX/lib/cmake/nats_server/nats_serverConfig.cmake (find_package(nats_server): nats_server::nats_server,
#                                                          nats_server::nats_server_static)
#
#   scripts/install.sh --prefix /usr/local            # cargo build --release --lib, then install (may need root)
#   scripts/install.sh --prefix ~/.local --lib-dir target/debug   # install an existing build, no cargo call
#   DESTDIR=/tmp/stage scripts/install.sh --prefix /usr  # stage for a package (the .pc still says /usr)
#
# X.Y.Z is the crate's version (Cargo.toml, the only place it is set); SOVERSION is X, or 0.Y before 1.0 (build.rs
# gives the library that soname). Linux only. Why not cargo-c (`cargo cinstall`): it builds cargo itself from
# source (minutes on a small CI machine, and each release needs the newest rustc); the layout above is the one it
# would install, from the library cargo already builds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
prefix=/usr/local
lib_dir=""
libdir_name=lib
while (($#)); do
    case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#*=}"; shift ;;
    --lib-dir) lib_dir="${2:?--lib-dir needs a directory}"; shift 2 ;;
    --lib-dir=*) lib_dir="${1#*=}"; shift ;;
    --libdir-name) libdir_name="${2:?--libdir-name needs a name, e.g. lib64}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ "$prefix" == /* ]] || prefix="$(cd "$prefix" 2>/dev/null && pwd || echo "$PWD/$prefix")"
if [[ "$(uname -s)" != Linux ]]; then
    echo "install.sh: only Linux is supported (the soname and the .pc are Linux's); copy the header and the" \
        "library by hand elsewhere" >&2
    exit 2
fi

# The one version: the [package] table's version in Cargo.toml.
version="$(awk -F'"' '/^\[/{section=$0} section=="[package]" && /^version *=/{print $2; exit}' "$root/Cargo.toml")"
[[ "$version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || { echo "install.sh: no version in Cargo.toml" >&2; exit 1; }
major="${BASH_REMATCH[1]}"
minor="${BASH_REMATCH[2]}"
if [[ "$major" == 0 ]]; then soversion="0.$minor"; else soversion="$major"; fi

if [[ -z "$lib_dir" ]]; then
    (cd "$root" && cargo build --release --lib --no-default-features --quiet)
    lib_dir="$root/target/release"
fi
[[ -d "$lib_dir" ]] || { echo "install.sh: --lib-dir $lib_dir is not a directory" >&2; exit 2; }
lib_dir="$(cd "$lib_dir" && pwd)"
for file in libnats_server.a libnats_server.so; do
    [[ -f "$lib_dir/$file" ]] || { echo "install.sh: no $file in $lib_dir (run cargo build --lib)" >&2; exit 1; }
done
if command -v readelf >/dev/null; then
    soname="$(readelf -d "$lib_dir/libnats_server.so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')"
    if [[ "$soname" != "libnats_server.so.$soversion" ]]; then
        echo "install.sh: $lib_dir/libnats_server.so has soname '${soname:-none}', expected" \
            "libnats_server.so.$soversion: rebuild it (cargo build --lib) from this checkout" >&2
        exit 1
    fi
fi

dest="${DESTDIR:-}$prefix"
libdir="$dest/$libdir_name"
install -d "$dest/include" "$libdir/pkgconfig" "$libdir/cmake/nats_server"
install -m 644 "$root/include/nats_server.h" "$root/include/nats_server.hpp" "$dest/include/"
install -m 644 "$lib_dir/libnats_server.a" "$libdir/"
install -m 755 "$lib_dir/libnats_server.so" "$libdir/libnats_server.so.$version"
ln -sfn "libnats_server.so.$version" "$libdir/libnats_server.so.$soversion"
ln -sfn "libnats_server.so.$soversion" "$libdir/libnats_server.so"

cat >"$libdir/pkgconfig/nats_server.pc" <<EOF
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/$libdir_name
includedir=\${prefix}/include

Name: nats_server
Description: Test harness that runs real nats-server processes for integration tests (C ABI)
URL: https://github.com/nats-server-harness/nats-server
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lnats_server
Libs.private: -lpthread -ldl -lm
EOF

# CMake: the prefix is found from this file's own place, so a staged or moved install still works.
cat >"$libdir/cmake/nats_server/nats_serverConfig.cmake" <<EOF
# find_package(nats_server) -- the nats-server test harness's C library, version $version.
#   target_link_libraries(my_test PRIVATE nats_server::nats_server)         # shared (libnats_server.so.$soversion)
#   target_link_libraries(my_test PRIVATE nats_server::nats_server_static)  # static, with its system libraries
get_filename_component(_nats_server_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(nats_server_VERSION $version)
set(nats_server_INCLUDE_DIRS "\${_nats_server_prefix}/include")
if(NOT TARGET nats_server::nats_server)
    add_library(nats_server::nats_server SHARED IMPORTED)
    set_target_properties(nats_server::nats_server PROPERTIES
        IMPORTED_LOCATION "\${_nats_server_prefix}/$libdir_name/libnats_server.so.$version"
        IMPORTED_SONAME "libnats_server.so.$soversion"
        INTERFACE_INCLUDE_DIRECTORIES "\${_nats_server_prefix}/include")
endif()
if(NOT TARGET nats_server::nats_server_static)
    add_library(nats_server::nats_server_static STATIC IMPORTED)
    set_target_properties(nats_server::nats_server_static PROPERTIES
        IMPORTED_LOCATION "\${_nats_server_prefix}/$libdir_name/libnats_server.a"
        INTERFACE_INCLUDE_DIRECTORIES "\${_nats_server_prefix}/include"
        INTERFACE_LINK_LIBRARIES "pthread;dl;m")
endif()
unset(_nats_server_prefix)
EOF
# Compatible: the same major version (before 1.0: the same minor) and at least the version asked for.
cat >"$libdir/cmake/nats_server/nats_serverConfigVersion.cmake" <<EOF
set(PACKAGE_VERSION $version)
set(PACKAGE_VERSION_COMPATIBLE FALSE)
if(PACKAGE_FIND_VERSION_MAJOR EQUAL $major AND ($major GREATER 0 OR PACKAGE_FIND_VERSION_MINOR EQUAL $minor)
   AND NOT PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
endif()
if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
endif()
EOF
echo "installed nats_server $version (soname libnats_server.so.$soversion) under ${DESTDIR:+$DESTDIR}$prefix"
