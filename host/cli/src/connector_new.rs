//! `weft connector new NAME`: a ready connector crate — the SDK's template
//! (`sdk/template`, embedded in this binary), renamed, with its tests, a
//! README and its dependencies pointing at the SDK.
//!
//! Where the SDK comes from: `--sdk-path` (a Weft checkout), `--sdk-git`
//! (the repository), or by default the checkout this `weft` was built
//! from when it is still there (`cargo install --path host/cli`), else the
//! repository named in the workspace's `repository` field.

use crate::exit::{Failure, INTERNAL, OK, USAGE};
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};

/// The template's files, as `weft` was built with them.
const TEMPLATE_CARGO_TOML: &str = include_str!("../../../sdk/template/Cargo.toml");
const TEMPLATE_LIB_RS: &str = include_str!("../../../sdk/template/src/lib.rs");
const TEMPLATE_TESTS_RS: &str = include_str!("../../../sdk/template/tests/blocks.rs");
const TEMPLATE_README: &str = include_str!("../../../sdk/template/README.md");

/// The SDK directory of the checkout this binary was built from.
const BUILT_FROM_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../sdk");
/// The repository of the workspace, for git dependencies.
const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

/// Names cargo refuses for a package (they clash with its directories or
/// the standard crates).
const RESERVED: &[&str] = &[
    "build",
    "deps",
    "examples",
    "incremental",
    "test",
    "core",
    "std",
    "alloc",
    "proc-macro",
    "self",
    "crate",
    "super",
];

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    weft connector new issues                       # ./issues, SDK from the checkout weft was built from\n  \
    weft connector new issues --dir ~/src/issues-connector\n  \
    weft connector new issues --sdk-path ~/src/weft\n  \
    weft connector new issues --sdk-git https://example.org/weft.git --sdk-rev v0.1.0\n\n\
    Then: cd issues && cargo test --release   (needs `rustup target add wasm32-wasip2`)")]
pub struct NewArgs {
    /// The connector's id and crate name: 1–64 characters of a-z, 0-9 and
    /// `-`, starting with a letter (e.g. `issues`, `acme-crm`).
    pub name: String,
    /// Where to create the crate (default: ./NAME). Must not exist or be empty.
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Depend on the SDK in this Weft checkout (its root or its `sdk/`).
    #[arg(long, value_name = "PATH", conflicts_with = "sdk_git")]
    pub sdk_path: Option<PathBuf>,
    /// Depend on the SDK from this git repository.
    #[arg(long, value_name = "URL")]
    pub sdk_git: Option<String>,
    /// With --sdk-git: the tag, branch or commit to pin (recommended).
    #[arg(long, value_name = "REV", requires = "sdk_git")]
    pub sdk_rev: Option<String>,
}

/// Where the generated crate takes `weft-sdk` and `weft-sdk-test` from.
#[derive(Debug, Clone, PartialEq)]
pub enum SdkSource {
    /// The `sdk/` directory of a checkout.
    Path(PathBuf),
    Git {
        url: String,
        rev: Option<String>,
    },
}

impl SdkSource {
    fn dependency(&self, package: &str) -> String {
        match self {
            SdkSource::Path(sdk) => {
                let dir = if package == "weft-sdk" {
                    sdk.clone()
                } else {
                    sdk.join("testing")
                };
                format!(
                    "{package} = {{ path = {} }}",
                    toml_string(&dir.display().to_string())
                )
            }
            SdkSource::Git { url, rev } => match rev {
                Some(rev) => format!(
                    "{package} = {{ git = {}, rev = {} }}",
                    toml_string(url),
                    toml_string(rev)
                ),
                None => format!("{package} = {{ git = {} }}", toml_string(url)),
            },
        }
    }

    fn describe(&self) -> String {
        match self {
            SdkSource::Path(p) => p.display().to_string(),
            SdkSource::Git { url, rev: Some(r) } => format!("{url} at {r}"),
            SdkSource::Git { url, rev: None } => url.clone(),
        }
    }
}

/// A JSON string is a valid TOML basic string (same escapes).
fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Check a connector id (the manifest's rules, plus what cargo accepts as
/// a package name).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if name.is_empty() || name.len() > 64 || !ok_chars {
        return Err(format!(
            "{name:?} is not a valid connector id: use 1–64 characters of a-z, 0-9 and `-`"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) || name.ends_with('-') {
        return Err(format!(
            "{name:?} must start with a letter and not end with `-`"
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!("{name:?} is reserved by cargo; pick another name"));
    }
    Ok(())
}

/// `acme-crm` → `Acme Crm`.
fn display_name(id: &str) -> String {
    id.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replace `from` by `to` in `text`, which must contain it: the template
/// and this generator are kept in step by the unit tests below, and a
/// marker that went missing must fail loudly, not produce a half-renamed
/// crate.
fn replace_marker(text: &str, from: &str, to: &str, file: &str) -> Result<String, String> {
    if !text.contains(from) {
        return Err(format!(
            "the embedded template's {file} no longer contains {from:?}; this weft build is inconsistent"
        ));
    }
    Ok(text.replace(from, to))
}

/// The generated files, relative to the crate directory.
pub fn render(name: &str, sdk: &SdkSource) -> Result<Vec<(&'static str, String)>, String> {
    let crate_ident = name.replace('-', "_");
    let quoted_id = format!("\"{name}\"");

    let mut cargo = TEMPLATE_CARGO_TOML.to_string();
    for (from, to) in [
        (
            "name = \"weft-connector-template\"",
            format!("name = \"{name}\""),
        ),
        (
            "description = \"Template Weft connector for the (fictional) Acme Tasks REST API\"",
            format!("description = \"Weft connector {name}\""),
        ),
        ("weft-sdk = { path = \"..\" }", sdk.dependency("weft-sdk")),
        (
            "weft-sdk-test = { path = \"../testing\" }",
            sdk.dependency("weft-sdk-test"),
        ),
        (
            "# A Weft connector. `weft connector new NAME` makes a copy of this crate\n\
             # under your own name, with the two dependencies below pointing at the SDK\n\
             # (see sdk/WALKTHROUGH.md, \"Start a connector\").\n",
            "# A Weft connector, made by `weft connector new`. The SDK walkthrough\n\
             # (sdk/WALKTHROUGH.md in the Weft repository) explains every part.\n"
                .to_string(),
        ),
    ] {
        cargo = replace_marker(&cargo, from, &to, "Cargo.toml")?;
    }
    cargo.push_str(
        "\n# A project of its own, even when created inside another workspace.\n[workspace]\n",
    );

    let lib = replace_marker(TEMPLATE_LIB_RS, "\"acme-tasks\"", &quoted_id, "src/lib.rs")?;
    let lib = replace_marker(
        &lib,
        "name: \"Acme Tasks\"",
        &format!("name: \"{}\"", display_name(name)),
        "src/lib.rs",
    )?;
    let tests = replace_marker(
        TEMPLATE_TESTS_RS,
        "\"acme-tasks\"",
        &quoted_id,
        "tests/blocks.rs",
    )?;
    let readme = replace_marker(
        TEMPLATE_README,
        "# acme-tasks — a Weft connector",
        &format!("# {name} — a Weft connector"),
        "README.md",
    )?;
    let readme = replace_marker(
        &readme,
        "acme_tasks.wasm",
        &format!("{crate_ident}.wasm"),
        "README.md",
    )?;

    Ok(vec![
        ("Cargo.toml", cargo),
        ("src/lib.rs", lib),
        ("tests/blocks.rs", tests),
        ("README.md", readme),
        (".gitignore", "/target\n".to_string()),
    ])
}

fn sdk_source(args: &NewArgs) -> Result<SdkSource, Failure> {
    if let Some(url) = &args.sdk_git {
        return Ok(SdkSource::Git {
            url: url.clone(),
            rev: args.sdk_rev.clone(),
        });
    }
    if let Some(path) = &args.sdk_path {
        let sdk = if path.join("sdk").join("Cargo.toml").is_file() {
            path.join("sdk")
        } else {
            path.clone()
        };
        if !sdk.join("Cargo.toml").is_file() || !sdk.join("testing").join("Cargo.toml").is_file() {
            return Err(Failure::new(
                USAGE,
                format!("--sdk-path {}: no Weft SDK there", path.display()),
            )
            .hint("give the root of a Weft checkout (it has sdk/Cargo.toml and sdk/testing/Cargo.toml)"));
        }
        return Ok(SdkSource::Path(absolute(&sdk)?));
    }
    let built_from = Path::new(BUILT_FROM_SDK);
    if built_from.join("testing").join("Cargo.toml").is_file() {
        return Ok(SdkSource::Path(absolute(built_from)?));
    }
    Ok(SdkSource::Git {
        url: REPOSITORY.to_string(),
        rev: None,
    })
}

fn absolute(p: &Path) -> Result<PathBuf, Failure> {
    p.canonicalize()
        .map_err(|e| Failure::new(USAGE, format!("{}: {e}", p.display())))
}

pub fn run(args: NewArgs, json_out: bool) -> Result<u8, Failure> {
    check_name(&args.name).map_err(|m| {
        Failure::new(USAGE, m)
            .hint("e.g. `weft connector new issues` or `weft connector new acme-crm`")
    })?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let occupied = std::fs::read_dir(&dir)
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    if occupied || dir.is_file() {
        return Err(Failure::new(
            USAGE,
            format!("{} already exists and is not empty", dir.display()),
        )
        .hint("pick another --dir, or remove it first"));
    }
    let sdk = sdk_source(&args)?;
    let files = render(&args.name, &sdk).map_err(|m| Failure::new(INTERNAL, m))?;
    for (rel, content) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                Failure::new(USAGE, format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        std::fs::write(&path, content)
            .map_err(|e| Failure::new(USAGE, format!("cannot write {}: {e}", path.display())))?;
    }
    let wasm = format!(
        "target/wasm32-wasip2/release/{}.wasm",
        args.name.replace('-', "_")
    );
    if json_out {
        println!(
            "{}",
            json!({
                "id": args.name,
                "dir": dir.display().to_string(),
                "sdk": sdk.describe(),
                "files": files.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
                "component": wasm,
            })
        );
    } else {
        println!(
            "created connector {} in {} (weft-sdk from {})",
            args.name,
            dir.display(),
            sdk.describe()
        );
        println!("next:");
        println!("  cd {}", dir.display());
        println!(
            "  cargo test --release     # builds the component, runs its tests in `weft` against a fake API"
        );
        println!("  weft connector describe {wasm}");
        if let SdkSource::Git { rev: None, .. } = sdk {
            println!(
                "note: the SDK is a git dependency without a pinned revision; add `rev = \"…\"` in Cargo.toml for repeatable builds"
            );
        }
    }
    Ok(OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_manifest_and_cargo_rules() {
        for good in ["issues", "acme-crm", "a1", "x"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Issues",
            "1abc",
            "a_b",
            "a-",
            "-a",
            "test",
            "build",
            &"a".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(display_name("acme-crm"), "Acme Crm");
    }

    #[test]
    fn every_template_marker_is_found_and_replaced() {
        let sdk = SdkSource::Path(PathBuf::from("/src/we\"ft/sdk"));
        let files = render("acme-crm", &sdk).expect("render");
        let file = |name: &str| {
            files
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(_, c)| c.as_str())
                .expect("file")
        };
        let cargo = file("Cargo.toml");
        assert!(cargo.contains("name = \"acme-crm\""), "{cargo}");
        assert!(
            cargo.contains(r#"weft-sdk = { path = "/src/we\"ft/sdk" }"#),
            "{cargo}"
        );
        assert!(
            cargo.contains(r#"weft-sdk-test = { path = "/src/we\"ft/sdk/testing" }"#),
            "{cargo}"
        );
        assert!(cargo.trim_end().ends_with("[workspace]"));
        assert!(!cargo.contains("template"), "{cargo}");
        assert!(file("src/lib.rs").contains("id: \"acme-crm\""));
        assert!(file("src/lib.rs").contains("name: \"Acme Crm\""));
        assert!(!file("src/lib.rs").contains("\"acme-tasks\""));
        assert!(file("tests/blocks.rs").contains("assert_eq!(m[\"id\"], \"acme-crm\")"));
        assert!(file("README.md").contains("acme_crm.wasm"));

        let git = SdkSource::Git {
            url: "https://example.org/weft.git".into(),
            rev: Some("v0.1.0".into()),
        };
        let cargo = render("x", &git).expect("render")[0].1.clone();
        assert!(cargo.contains(
            r#"weft-sdk-test = { git = "https://example.org/weft.git", rev = "v0.1.0" }"#
        ));
    }
}
