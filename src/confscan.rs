//! Which keys a user's `nats-server` configuration sets, so the harness's defaults never fight them.
//!
//! nats-server reads a configuration into one map, so of two settings of the same key the later wins, but
//! aliases of one setting (`port` and `listen`, `http` and `http_port`, ...) are separate keys applied in a random
//! order. The harness therefore writes a default only when the user's configuration sets none of its aliases. This
//! module finds the keys: a small scanner for the configuration syntax (comments, quoted strings, nested blocks and
//! arrays, `include` followed into other files), not a full parser: it never looks at values.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The keys set by a configuration, lower-cased.
#[derive(Debug, Default)]
pub(crate) struct ConfigKeys {
    /// Keys at the top level (what the harness's defaults could collide with).
    pub top: HashSet<String>,
    /// Keys at any depth (e.g. `store_dir` inside a `jetstream` block).
    pub any: HashSet<String>,
}

impl ConfigKeys {
    /// Whether any of `keys` is set at the top level.
    pub fn sets_any(&self, keys: &[&str]) -> bool {
        keys.iter().any(|k| self.top.contains(*k))
    }

    /// Whether any of `keys` is set at any depth.
    pub fn mentions_any(&self, keys: &[&str]) -> bool {
        keys.iter().any(|k| self.any.contains(*k))
    }

    /// Scans a configuration file (and the files it includes); a file that cannot be read adds nothing (the server
    /// itself reports it).
    pub fn add_file(&mut self, path: &Path) {
        self.add_file_at_depth(path, 0);
    }

    /// Scans configuration text whose `include`s are relative to `dir`.
    pub fn add_text(&mut self, text: &str, dir: &Path) {
        self.scan(text, dir, 0);
    }

    fn add_file_at_depth(&mut self, path: &Path, depth: usize) {
        // Include cycles are the server's to report; stop following them.
        if depth > 16 {
            return;
        }
        if let Ok(text) = std::fs::read_to_string(path) {
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            self.scan(&text, &dir, depth);
        }
    }

    fn scan(&mut self, text: &str, dir: &Path, depth: usize) {
        let mut chars = text.chars().peekable();
        // Nesting of `{` / `[`; whether the next word at this point is a key.
        let mut nesting: Vec<char> = Vec::new();
        let mut expect_key = true;
        let mut pending_include = false;
        while let Some(c) = chars.next() {
            match c {
                '#' => skip_line(&mut chars),
                '/' if chars.peek() == Some(&'/') => skip_line(&mut chars),
                '"' | '\'' => {
                    let word = read_quoted(&mut chars, c);
                    if pending_include {
                        pending_include = false;
                        self.include(&word, dir, depth);
                    } else if expect_key && nesting.last() != Some(&'[') {
                        self.key(&word, nesting.is_empty());
                        expect_key = false;
                    }
                }
                '{' => {
                    nesting.push('{');
                    expect_key = true;
                }
                '[' => {
                    nesting.push('[');
                    expect_key = false;
                }
                '}' | ']' => {
                    nesting.pop();
                    expect_key = false;
                }
                '\n' | ',' | ';' => expect_key = nesting.last() != Some(&'['),
                c if c.is_whitespace() || c == ':' || c == '=' => {}
                c => {
                    let mut word = String::from(c);
                    while let Some(&n) = chars.peek() {
                        if n.is_whitespace() || ":=,;{}[]#\"'".contains(n) {
                            break;
                        }
                        word.push(n);
                        chars.next();
                    }
                    if pending_include {
                        pending_include = false;
                        self.include(&word, dir, depth);
                    } else if expect_key && nesting.last() != Some(&'[') {
                        if word.eq_ignore_ascii_case("include") {
                            pending_include = true;
                        } else {
                            self.key(&word, nesting.is_empty());
                        }
                        expect_key = false;
                    }
                }
            }
        }
    }

    fn key(&mut self, word: &str, top: bool) {
        let key = word.to_ascii_lowercase();
        if top {
            self.top.insert(key.clone());
        }
        self.any.insert(key);
    }

    fn include(&mut self, path: &str, dir: &Path, depth: usize) {
        // nats-server joins include paths to the including file's directory.
        let path: PathBuf = dir.join(path.trim_start_matches('/'));
        self.add_file_at_depth(&path, depth + 1);
    }
}

fn skip_line(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        if c == '\n' {
            break;
        }
        chars.next();
    }
}

fn read_quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char) -> String {
    let mut word = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quote == '"' => {
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            c if c == quote => break,
            c => word.push(c),
        }
    }
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> ConfigKeys {
        let mut keys = ConfigKeys::default();
        keys.add_text(text, Path::new("/nonexistent"));
        keys
    }

    #[test]
    fn finds_top_level_keys_only_at_the_top() {
        let k = keys(
            "# port: 1\nlisten: \"127.0.0.1:4567\" // http: 1\nwebsocket {\n  port: -1\n  tls { cert_file: \"a\" }\n}\n\
             \"http_port\" = 8222; debug true\naccounts: { A: { users: [ {user: a, password: b} ] } }\n\
             jetstream { store_dir: '/x#y' }\n",
        );
        let mut top: Vec<_> = k.top.iter().cloned().collect();
        top.sort();
        assert_eq!(
            top,
            [
                "accounts",
                "debug",
                "http_port",
                "jetstream",
                "listen",
                "websocket"
            ]
        );
        assert!(k.mentions_any(&["store_dir"]));
        assert!(k.any.contains("cert_file"));
        assert!(k.any.contains("user"), "blocks inside arrays have keys");
    }

    #[test]
    fn follows_includes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("inner.conf"), "port: 4567\n").unwrap();
        std::fs::write(
            dir.path().join("outer.conf"),
            "include ./inner.conf\nhttp: 8222\n",
        )
        .unwrap();
        let mut k = ConfigKeys::default();
        k.add_file(&dir.path().join("outer.conf"));
        assert!(k.sets_any(&["port"]));
        assert!(k.sets_any(&["http"]));
        assert!(!k.sets_any(&["include"]));
    }
}
