//! libtest's summary lines and cargo's JSON build messages.

use std::path::PathBuf;

/// Counts from libtest's `test result:` lines, summed over all of them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// How many `test result:` lines there were.
    pub results: usize,
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
    pub filtered_out: u64,
}

/// Parses `test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; ...`.
pub fn parse_summary(output: &str) -> Summary {
    let mut sum = Summary::default();
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        let Some((_verdict, counts)) = rest.split_once(". ") else {
            continue;
        };
        sum.results += 1;
        for part in counts.split(';') {
            let mut words = part.split_whitespace();
            let (Some(n), Some(what)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u64>() else { continue };
            match what {
                "passed" => sum.passed += n,
                "failed" => sum.failed += n,
                "ignored" => sum.ignored += n,
                "filtered" => sum.filtered_out += n,
                _ => {}
            }
        }
    }
    sum
}

/// A test executable from cargo's `--message-format=json` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBinary {
    pub package: String,
    /// The package's folder (where `cargo test` would run the binary).
    pub package_dir: PathBuf,
    pub executable: PathBuf,
}

/// Executables of integration test targets named `target` among cargo's JSON messages.
pub fn test_executables(json_lines: &str, target: &str) -> Vec<TestBinary> {
    let mut found = Vec::new();
    for line in json_lines.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" || msg["target"]["name"] != target {
            continue;
        }
        let is_test = msg["target"]["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "test"));
        let (Some(exe), Some(manifest)) =
            (msg["executable"].as_str(), msg["manifest_path"].as_str())
        else {
            continue;
        };
        if !is_test {
            continue;
        }
        let manifest = PathBuf::from(manifest);
        let package_dir = manifest.parent().map(PathBuf::from).unwrap_or_default();
        let package =
            package_name(msg["package_id"].as_str().unwrap_or_default()).unwrap_or_else(|| {
                package_dir
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            });
        found.push(TestBinary {
            package,
            package_dir,
            executable: exe.into(),
        });
    }
    found
}

/// The name in a cargo package id: `path+file:///w/crates/x#0.1.0` (directory name, unless
/// a `name@` is given), `path+file:///w/crates/x#name@0.1.0`, or the old `name 0.1.0 (...)`.
fn package_name(id: &str) -> Option<String> {
    if let Some((_, frag)) = id.rsplit_once('#') {
        if let Some((name, _)) = frag.split_once('@') {
            return Some(name.to_owned());
        }
        let path = id.split('#').next()?;
        return path.rsplit('/').next().map(str::to_owned);
    }
    id.split_whitespace().next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passing_summary() {
        let out = "running 3 tests\ntest a ... ok\n\n\
                   test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 4 filtered out; finished in 0.01s\n";
        assert_eq!(
            parse_summary(out),
            Summary {
                results: 1,
                passed: 2,
                failed: 0,
                ignored: 1,
                filtered_out: 4
            }
        );
    }

    #[test]
    fn failing_summary_and_none() {
        let out = "test result: FAILED. 5 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.20s\n";
        let s = parse_summary(out);
        assert_eq!((s.results, s.passed, s.failed), (1, 5, 2));
        assert_eq!(parse_summary("running 0 tests\n").results, 0);
        let zero = parse_summary(
            "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
        );
        assert_eq!((zero.results, zero.passed), (1, 0));
    }

    #[test]
    fn executables_from_cargo_json() {
        let json = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/crates/penstock-linux#0.1.0","manifest_path":"/w/crates/penstock-linux/Cargo.toml","target":{"kind":["lib"],"name":"penstock_linux"},"executable":null}
{"reason":"compiler-artifact","package_id":"path+file:///w/crates/penstock-linux#0.1.0","manifest_path":"/w/crates/penstock-linux/Cargo.toml","target":{"kind":["test"],"name":"kernel"},"profile":{"test":true},"executable":"/w/target/debug/deps/kernel-0123abcd"}
{"reason":"compiler-artifact","package_id":"path+file:///w/crates/x#other@0.2.0","manifest_path":"/w/crates/x/Cargo.toml","target":{"kind":["test"],"name":"kernel"},"executable":"/w/target/debug/deps/kernel-4567"}
{"reason":"compiler-artifact","package_id":"path+file:///w/crates/y#0.1.0","manifest_path":"/w/crates/y/Cargo.toml","target":{"kind":["test"],"name":"other"},"executable":"/w/target/debug/deps/other-89"}
{"reason":"build-finished","success":true}
not json"#;
        let found = test_executables(json, "kernel");
        assert_eq!(
            found,
            [
                TestBinary {
                    package: "penstock-linux".into(),
                    package_dir: "/w/crates/penstock-linux".into(),
                    executable: "/w/target/debug/deps/kernel-0123abcd".into(),
                },
                TestBinary {
                    package: "other".into(),
                    package_dir: "/w/crates/x".into(),
                    executable: "/w/target/debug/deps/kernel-4567".into(),
                },
            ]
        );
    }
}
