//! evgrid's architecture invariants as checks: which crate may depend on what (read from
//! `cargo metadata`), and where protocol names, SQL, HTTP and the store may appear in the
//! sources. `tests/invariants.rs` runs every check on the workspace; the unit tests here show
//! each check failing on the violation it exists for. ARCHITECTURE.md states each invariant
//! beside the rule that holds it (the rule ids below).

use std::collections::BTreeSet;

use serde_json::Value;

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule's id, e.g. `D1`.
    pub rule: &'static str,
    /// Where: a crate, or `file:line`.
    pub place: String,
    pub what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}: {}", self.rule, self.place, self.what)
    }
}

/// A dependency rule: crates outside `allowed` must not depend on any of `dependencies`
/// (normal dependencies; dev-dependencies of tests are free).
struct DependencyRule {
    id: &'static str,
    invariant: &'static str,
    dependencies: &'static [&'static str],
    allowed: &'static [&'static str],
}

/// The product's library crates: none of them may link a tool.
const PRODUCT: &[&str] = &[
    "evgrid-model",
    "evgrid-geo",
    "evgrid-siting",
    "evgrid-report",
    "evgrid-synth",
    "evgrid-tcec",
    "evgrid-ocpp",
    "evgrid-store",
    "evgrid-app",
    "evgrid-server",
];

const DEPENDENCY_RULES: &[DependencyRule] = &[
    DependencyRule {
        id: "D1",
        invariant: "only the store knows SQL (the PostGIS baseline of the benchmarks is another system measured)",
        dependencies: &["sqlx"],
        allowed: &["evgrid-store", "evgrid-bench"],
    },
    DependencyRule {
        id: "D2",
        invariant: "only the server knows HTTP serving and the API document",
        dependencies: &["axum", "utoipa", "utoipa-axum"],
        allowed: &["evgrid-server"],
    },
    DependencyRule {
        id: "D3",
        invariant: "the store is reached only through the application layer",
        dependencies: &["evgrid-store"],
        allowed: &["evgrid-app"],
    },
    DependencyRule {
        id: "D4",
        invariant: "simulators and benchmarks are tools: only the binary links them",
        dependencies: &["evgrid-sim", "evgrid-bench"],
        allowed: &["evgrid"],
    },
    DependencyRule {
        id: "D5",
        invariant: "the application layer is used by the server and the binary (and tools), never by what it builds on",
        dependencies: &["evgrid-app"],
        allowed: &["evgrid-server", "evgrid", "evgrid-bench"],
    },
    DependencyRule {
        id: "D6",
        invariant: "the server is used only by the binary and its benchmarks",
        dependencies: &["evgrid-server"],
        allowed: &["evgrid", "evgrid-bench"],
    },
    DependencyRule {
        id: "D9",
        invariant: "test helpers are not linked into the product's libraries",
        dependencies: &["tempfile"],
        allowed: &["evgrid", "evgrid-bench"],
    },
    DependencyRule {
        id: "D7",
        invariant: "protocol adapters are used by the application, the tools and the binary, not by the store or the pure crates",
        dependencies: &["evgrid-tcec", "evgrid-ocpp"],
        allowed: &[
            "evgrid-tcec",
            "evgrid-ocpp",
            "evgrid-app",
            "evgrid-server",
            "evgrid-sim",
            "evgrid-bench",
            "evgrid-synth",
            "evgrid",
        ],
    },
];

/// The domain model depends on nothing of evgrid and does no I/O.
const MODEL_FORBIDDEN: &[&str] = &["tokio", "sqlx", "axum", "hyper", "reqwest"];

/// Checks the workspace's dependencies in `cargo metadata --format-version 1` output.
pub fn check_dependencies(metadata: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let id = package["id"].as_str().unwrap_or_default();
        if !members.contains(id) {
            continue;
        }
        let name = package["name"].as_str().unwrap_or_default();
        let deps: Vec<&str> = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str())
            .collect();
        for rule in DEPENDENCY_RULES {
            if rule.allowed.contains(&name) {
                continue;
            }
            for dep in deps.iter().filter(|d| rule.dependencies.contains(d)) {
                out.push(Violation {
                    rule: rule.id,
                    place: name.to_owned(),
                    what: format!("depends on {dep}; {}", rule.invariant),
                });
            }
        }
        if PRODUCT.contains(&name) {
            for dep in deps
                .iter()
                .filter(|d| ["evgrid-sim", "evgrid-bench"].contains(d))
            {
                out.push(Violation {
                    rule: "D4",
                    place: name.to_owned(),
                    what: format!("a product crate links the tool {dep}"),
                });
            }
        }
        if name == "evgrid-model" {
            for dep in &deps {
                if dep.starts_with("evgrid") || MODEL_FORBIDDEN.contains(dep) {
                    out.push(Violation {
                        rule: "D8",
                        place: name.to_owned(),
                        what: format!(
                            "depends on {dep}; the domain model knows no other crate of evgrid and does no I/O"
                        ),
                    });
                }
            }
        }
    }
    out
}

/// One Rust source file of the workspace.
#[derive(Debug, Clone)]
pub struct Source {
    /// The package's directory name under `crates/` (e.g. `app`, `server`).
    pub krate: String,
    /// The path shown in reports.
    pub path: String,
    pub text: String,
}

impl Source {
    /// Whether the file is test code as a whole (under `tests/`, or a `tests.rs` module).
    fn is_test_file(&self) -> bool {
        self.path.contains("/tests/") || self.path.ends_with("/tests.rs")
    }

    /// The non-test code: all of it, up to the first `#[cfg(test)]` (test modules sit at the
    /// end of their file by convention), and nothing of a test file.
    fn product_code(&self) -> &str {
        if self.is_test_file() {
            return "";
        }
        match self.text.find("#[cfg(test)]") {
            Some(i) => &self.text[..i],
            None => &self.text,
        }
    }
}

/// What a protocol calls things, gathered from its adapter.
#[derive(Debug, Clone, Default)]
pub struct ProtocolNames {
    /// T/CEC 102 field and interface names as the wire spells them.
    pub tcec: BTreeSet<String>,
    /// OCPP action names of both versions.
    pub ocpp_actions: BTreeSet<String>,
}

/// The T/CEC wire names of the `tcec` crate's sources: every `rename = "…"`, the fields of
/// structs serialized `PascalCase`, and the interface names (`query_…`, `notification_…`,
/// `check_charge_orders`).
pub fn tcec_wire_names(sources: &[Source]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for s in sources.iter().filter(|s| s.krate == "tcec") {
        let code = s.product_code();
        let mut pascal = false;
        let mut renamed_next = false;
        for line in code.lines() {
            let t = line.trim();
            if t.contains("rename_all = \"PascalCase\"") {
                pascal = true;
            }
            if let Some(i) = t.find("rename = \"") {
                let rest = &t[i + 10..];
                if let Some(end) = rest.find('"') {
                    names.insert(rest[..end].to_owned());
                    renamed_next = true;
                }
            }
            if t.starts_with("pub ") && t.contains(':') && !t.contains('(') {
                let field = t[4..].split(':').next().unwrap_or_default().trim();
                if pascal && !renamed_next && !field.is_empty() {
                    names.insert(pascal_case(field));
                }
                renamed_next = false;
            }
            if t == "}" {
                pascal = false;
            }
        }
        for literal in string_literals(code) {
            let interface = literal.starts_with("query_")
                || literal.starts_with("notification_")
                || literal.starts_with("check_charge_order");
            if interface
                && literal
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                names.insert(literal);
            }
        }
    }
    names
}

fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The OCPP actions named by the vendored schemas' file names (`BootNotification.json`,
/// `BootNotificationResponse.json`, `BootNotificationRequest.json`).
pub fn ocpp_actions<'a>(schema_files: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    schema_files
        .into_iter()
        .filter_map(|f| f.strip_suffix(".json"))
        .map(|f| {
            f.strip_suffix("Response")
                .or_else(|| f.strip_suffix("Request"))
                .unwrap_or(f)
                .to_owned()
        })
        .collect()
}

/// The string literals of Rust code, outside comments (plain and raw strings; escapes kept as
/// written, which is enough for names).
pub fn string_literals(code: &str) -> Vec<String> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'\'' => {
                // A char literal ('x', '\n', '"') or a lifetime ('a): skip a char literal whole.
                if b.get(i + 2) == Some(&b'\'') {
                    i += 3;
                } else if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else {
                    i += 1;
                }
            }
            b'r' if (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let start = j + 1;
                let mut end = start;
                'scan: while end < b.len() {
                    if b[end] == b'"' && (0..hashes).all(|h| b.get(end + 1 + h) == Some(&b'#')) {
                        break 'scan;
                    }
                    end += 1;
                }
                out.push(String::from_utf8_lossy(&b[start..end.min(b.len())]).into_owned());
                i = end + 1 + hashes;
            }
            b'"' => {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && b[end] != b'"' {
                    if b[end] == b'\\' {
                        end += 1;
                    }
                    end += 1;
                }
                out.push(String::from_utf8_lossy(&b[start..end.min(b.len())]).into_owned());
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Where each crate's code may say something: (crate directory) → allowed.
fn allowed(rule: &str, krate: &str) -> bool {
    match rule {
        // SQL: the store, and the benchmarks' PostGIS baseline.
        "S1" => matches!(krate, "store" | "bench"),
        // HTTP serving.
        "S2" => krate == "server",
        // The store's API.
        "S3" => matches!(krate, "store" | "app"),
        // Protocol names: the adapter, and the tools that play the other side (simulated
        // operators and chargers, load generators).
        "S5" => matches!(krate, "tcec" | "sim" | "bench"),
        "S6" | "S7" => matches!(krate, "ocpp" | "sim" | "bench"),
        // OCPP-J framing and the connection loop.
        "S8" | "S9" => krate == "ocpp",
        // T/CEC answer codes.
        "S10" => matches!(krate, "tcec" | "sim" | "bench"),
        // Distance fields: the geometry, the application, the coverage benchmark.
        "S11" => matches!(krate, "geo" | "app" | "bench"),
        _ => false,
    }
}

/// Text rules: (rule, needle, what it means).
const TEXT_RULES: &[(&str, &str, &str)] = &[
    ("S1", "sqlx::", "uses sqlx: only the store knows SQL"),
    ("S2", "axum::", "uses axum: only the server knows HTTP"),
    (
        "S3",
        "evgrid_store",
        "names the store: the server, the binary and the adapters reach it only through evgrid_app",
    ),
    (
        "S8",
        "json!([2,",
        "writes an OCPP-J frame by hand: use evgrid_ocpp::Frame",
    ),
    (
        "S8",
        "json!([3,",
        "writes an OCPP-J frame by hand: use evgrid_ocpp::Frame",
    ),
    (
        "S8",
        "json!([4,",
        "writes an OCPP-J frame by hand: use evgrid_ocpp::Frame",
    ),
    (
        "S9",
        "csms::Connection",
        "runs an OCPP connection: the ocpp adapter's session does (evgrid_ocpp::session)",
    ),
    (
        "S9",
        ".on_text(",
        "runs an OCPP connection: the ocpp adapter's session does (evgrid_ocpp::session)",
    ),
    (
        "S10",
        ".succ_stat",
        "reads a T/CEC answer's codes: use the tcec adapter's typed outcome (refusal())",
    ),
    (
        "S10",
        ".start_charge_seq_stat",
        "reads a T/CEC answer's codes: use the tcec adapter's typed outcome (refusal())",
    ),
    (
        "S10",
        ".fail_meaning(",
        "reads a T/CEC answer's codes: use the tcec adapter's typed outcome (refusal())",
    ),
    (
        "S11",
        "NearestField",
        "computes distances to stations: the application's regulator does it once (maps, coverage)",
    ),
];

/// Checks the sources of every crate (test code excepted).
pub fn check_sources(sources: &[Source], names: &ProtocolNames) -> Vec<Violation> {
    let mut out = Vec::new();
    for s in sources {
        let code = s.product_code();
        if code.is_empty() {
            continue;
        }
        let k = s.krate.as_str();
        for (n, line) in code.lines().enumerate() {
            let code_part = line.split("//").next().unwrap_or_default();
            for (rule, needle, what) in TEXT_RULES {
                if !allowed(rule, k) && code_part.contains(needle) {
                    out.push(Violation {
                        rule,
                        place: format!("{}:{}", s.path, n + 1),
                        what: (*what).to_owned(),
                    });
                }
            }
            if matches!(k, "server" | "cli") && code_part.contains(".store()") {
                out.push(Violation {
                    rule: "S4",
                    place: format!("{}:{}", s.path, n + 1),
                    what: "reaches past the application layer into the store".into(),
                });
            }
        }
        let accepted = BTreeSet::from(["Accepted".to_owned()]);
        let literal_rules: [(&'static str, &BTreeSet<String>, &str); 3] = [
            (
                "S5",
                &names.tcec,
                "a T/CEC wire name outside the tcec adapter",
            ),
            (
                "S6",
                &names.ocpp_actions,
                "an OCPP action name outside the ocpp adapter",
            ),
            (
                "S7",
                &accepted,
                "reads an OCPP status: use evgrid_ocpp's typed answers",
            ),
        ];
        let literals = string_literals(code);
        for (rule, set, what) in literal_rules {
            if allowed(rule, k) {
                continue;
            }
            for l in literals.iter().filter(|l| set.contains(*l)) {
                out.push(Violation {
                    rule,
                    place: s.path.clone(),
                    what: format!("the literal \"{l}\": {what}"),
                });
            }
        }
    }
    out.sort_by(|a, b| a.rule.cmp(b.rule).then(a.place.cmp(&b.place)));
    out
}

/// Directories of the product's crates under `crates/`.
const PRODUCT_DIRS: &[&str] = &[
    "model", "geo", "siting", "report", "synth", "tcec", "ocpp", "store", "app", "server",
];

/// Tools live in their own crates: no product crate has a simulator or benchmark module.
pub fn check_tool_modules<'a>(paths: impl IntoIterator<Item = &'a str>) -> Vec<Violation> {
    paths
        .into_iter()
        .filter(|p| {
            let mut parts = p.split('/');
            let (Some("crates"), Some(krate), Some("src")) = (parts.next(), parts.next(), parts.next())
            else {
                return false;
            };
            let rest: Vec<&str> = parts.collect();
            PRODUCT_DIRS.contains(&krate)
                && rest.iter().any(|part| {
                    let stem = part.trim_end_matches(".rs");
                    stem.starts_with("simulator") || stem.contains("bench")
                })
        })
        .map(|p| Violation {
            rule: "T1",
            place: p.to_owned(),
            what: "a simulator or benchmark inside a product crate: it belongs in crates/sim or crates/bench".into(),
        })
        .collect()
}

/// Every method of the store's contract (`contract.rs`) is called by the contract suite.
pub fn check_contract_suite(contract: &str, suite: &str) -> Vec<Violation> {
    contract
        .lines()
        .filter_map(|l| l.trim().strip_prefix("async fn "))
        .filter_map(|rest| rest.split(['(', '<']).next())
        .filter(|name| !suite.contains(&format!(".{name}(")))
        .map(|name| Violation {
            rule: "C1",
            place: "crates/store/tests/contract".into(),
            what: format!("the contract suite never calls {name}"),
        })
        .collect()
}

#[cfg(test)]
mod tests;
