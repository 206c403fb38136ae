//! Gives the shared C library a versioned soname on Linux, so an installed `libnats_server.so.0.2.0` is found by
//! programs linked against any `0.2.x` (the cargo-c convention: `.so.MAJOR`, or `.so.0.MINOR` before 1.0, since
//! a 0.x minor release may break the ABI). `scripts/install.sh` installs the file and its symlinks under that name.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "linux" {
        return;
    }
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    let minor = env!("CARGO_PKG_VERSION_MINOR");
    let soversion = if major == "0" {
        format!("0.{minor}")
    } else {
        major.to_owned()
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnats_server.so.{soversion}");
}
