//! One vocabulary: the README's table of names against the C header, and the header against the C++ wrapper.
//! (The Python and Go columns are checked by `bindings/python/tests/test_loading.py` and
//! `bindings/go/names_test.go`.)

use std::collections::BTreeSet;
use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Every function the header declares (`nats_server_*` / `nats_cluster_*` / `nats_supercluster_*` followed by `(`
/// at a declaration).
fn header_functions() -> BTreeSet<String> {
    let header = read("include/nats_server.h");
    let mut names = BTreeSet::new();
    for line in header.lines() {
        if line.starts_with(' ')
            || line.starts_with('*')
            || line.starts_with('/')
            || line.starts_with('#')
        {
            continue;
        }
        if let Some(open) = line.find('(') {
            if let Some(name) = line[..open].split_whitespace().last() {
                let name = name.trim_start_matches('*');
                if ["nats_server_", "nats_cluster_", "nats_supercluster_"]
                    .iter()
                    .any(|prefix| name.starts_with(prefix))
                {
                    names.insert(name.to_string());
                }
            }
        }
    }
    assert!(names.len() >= 60, "the header parser found only {names:?}");
    assert!(
        names.contains("nats_supercluster_run"),
        "the header parser missed the supercluster functions: {names:?}"
    );
    names
}

/// The cells of the README's "Names across the surfaces" table, one row per concept.
fn names_table() -> Vec<Vec<String>> {
    let readme = read("README.md");
    let start = readme
        .find("## Names across the surfaces")
        .expect("README has a section \"Names across the surfaces\"");
    let rows: Vec<Vec<String>> = readme[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    assert_eq!(
        rows[0],
        ["concept", "Rust", "C", "C++", "Python", "Go", "CLI"],
        "the table's header row"
    );
    rows[2..].to_vec()
}

/// The identifiers in backticks of one cell.
fn identifiers(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_readme_table_lists_every_c_function_and_only_those() {
    let header = header_functions();
    let mut listed = BTreeSet::new();
    for row in names_table() {
        for name in identifiers(&row[2]) {
            assert!(
                header.contains(&name),
                "README row {:?} names {name}, which the header does not declare",
                row[0]
            );
            listed.insert(name);
        }
    }
    let missing: Vec<_> = header.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "the README's names table lacks {missing:?}"
    );
}

#[test]
fn the_cpp_wrapper_reaches_every_c_function() {
    let hpp = read("include/nats_server.hpp");
    let missing: Vec<_> = header_functions()
        .into_iter()
        .filter(|f| {
            !hpp.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| word == f)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "include/nats_server.hpp never calls {missing:?}"
    );
}

#[test]
fn the_readme_cpp_column_names_members_of_the_wrapper() {
    let hpp = read("include/nats_server.hpp");
    for row in names_table() {
        for name in identifiers(&row[3]) {
            let member = name.rsplit("::").next().unwrap();
            let declared = hpp.match_indices(&format!("{member}(")).any(|(at, _)| {
                !hpp[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
            });
            assert!(
                declared || hpp.contains(&format!("class {member} ")),
                "README row {:?}: C++ {name} is not in nats_server.hpp",
                row[0]
            );
        }
    }
}

#[test]
fn the_library_version_is_the_crates() {
    let c = unsafe { std::ffi::CStr::from_ptr(nats_server::ffi::nats_server_library_version()) };
    assert_eq!(c.to_str().unwrap(), nats_server::LIBRARY_VERSION);
    assert_eq!(nats_server::LIBRARY_VERSION, env!("CARGO_PKG_VERSION"));
}
