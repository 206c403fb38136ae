//! `include/nats_server.h` is generated from `src/ffi/` by cbindgen (used as a library, so no cbindgen binary is
//! needed). This test regenerates it in memory and fails when the committed header differs.
//! `UPDATE_HEADER=1 cargo test --test header` writes it instead.

use std::path::PathBuf;

const STALE: &str =
    "include/nats_server.h is stale; regenerate with: UPDATE_HEADER=1 cargo test --test header";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generate() -> String {
    let dir = crate_dir();
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("reading cbindgen.toml: {e}"));
    // cbindgen follows the `mod` declarations of src/ffi/mod.rs, in their order.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/ffi/mod.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen failed: {e}"));
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen writes UTF-8")
}

#[test]
fn header_is_up_to_date() {
    let path = crate_dir().join("include/nats_server.h");
    let fresh = generate();
    if std::env::var_os("UPDATE_HEADER").is_some_and(|v| !v.is_empty() && v != "0") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let first_difference = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(fresh.lines().count()));
        panic!(
            "{STALE}\n(first difference at line {}: committed {:?}, generated {:?})",
            first_difference + 1,
            committed
                .lines()
                .nth(first_difference)
                .unwrap_or("<end of file>"),
            fresh
                .lines()
                .nth(first_difference)
                .unwrap_or("<end of file>"),
        );
    }
}

#[test]
fn header_declares_the_whole_abi() {
    let header = generate();
    for name in [
        "nats_server_abi_version",
        "nats_server_library_version",
        "nats_server_string_free",
        "nats_server_run",
        "nats_server_free",
        "nats_cluster_run",
        "nats_cluster_free",
        "nats_cluster_node",
        "NATS_SERVER_OK = 0",
        "NATS_SERVER_INTERNAL = 11",
        "NATS_SERVER_NULL_ARGUMENT = 100",
        "typedef struct nats_server_t nats_server_t;",
        "typedef struct nats_cluster_t nats_cluster_t;",
        "#define NATS_SERVER_ABI_VERSION 2",
        "nats_server_status nats_server_start(nats_server_t *server",
        "nats_server_status nats_server_version(const nats_server_t *server",
        "nats_server_status nats_cluster_free(nats_cluster_t *cluster)",
    ] {
        assert!(header.contains(name), "the generated header lacks {name:?}");
    }
    // Nothing internal leaks into the header.
    for internal in ["FfiError", "Target", "guard"] {
        assert!(
            !header.contains(internal),
            "the header mentions {internal:?}"
        );
    }
}

#[test]
fn header_offers_a_runtime_abi_check() {
    let header = generate();
    assert!(
        header.contains("static inline bool nats_server_abi_compatible(void)")
            && header.contains("return nats_server_abi_version() == NATS_SERVER_ABI_VERSION;"),
        "the header lacks nats_server_abi_compatible()"
    );
}
