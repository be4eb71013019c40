//! Compiles every component crate under `connectors-wasm/` for
//! `wasm32-wasip2` with a nested cargo, then copies the artifacts into
//! OUT_DIR and generates constants for them (see src/lib.rs).
//!
//! The nested build uses its own target directory beside the outer one, so
//! it never waits on the outer cargo's lock, and is shared by debug and
//! release outer builds.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (crate name, constant name) of every component this crate hands out.
const COMPONENTS: &[(&str, &str)] = &[
    ("weft-connector-http", "HTTP"),
    ("weft-connector-echo", "ECHO"),
    ("weft-connector-hostile", "HOSTILE"),
    ("weft-std-lists", "LISTS"),
    ("weft-std-text", "TEXT"),
    ("weft-std-json", "JSON"),
    ("weft-std-datetime", "DATETIME"),
    ("weft-std-math", "MATH"),
    ("weft-std-code", "CODE"),
    ("weft-connector-slack", "SLACK"),
    // Test fixtures: the SDK template (the scaffold `weft connector new`
    // copies) at its own version and again as 0.2.0.
    ("weft-connector-template", "ACME_TASKS"),
    ("weft-fixture-acme-tasks-v2", "ACME_TASKS_V2"),
    ("weft-connector-slow-describe", "SLOW_DESCRIBE"),
];

/// The component built only with the `code` feature.
const CODE_CRATE: &str = "weft-std-code";

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "component";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir
        .parent()
        .expect("connectors-wasm has a parent")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));

    // Only what the components are built from: not docs or the
    // template's tests.
    for watched in [
        "connectors-wasm",
        "sdk/src",
        "sdk/template/src",
        "sdk/template/Cargo.toml",
        "sdk/Cargo.toml",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rerun-if-env-changed=WEFT_COMPONENTS_TARGET_DIR");

    let target_dir = env::var_os("WEFT_COMPONENTS_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| outer_target_dir(&out_dir).join("wasm-components"));

    check_target_installed();

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace)
        .arg("build")
        .arg("--target")
        .arg(TARGET)
        .arg("--profile")
        .arg(PROFILE)
        .arg("--target-dir")
        .arg(&target_dir);
    // The `code` feature: the custom code block and its JavaScript engine.
    let with_code = env::var_os("CARGO_FEATURE_CODE").is_some();
    let components: Vec<(&str, &str)> = COMPONENTS
        .iter()
        .copied()
        .filter(|(krate, _)| with_code || *krate != CODE_CRATE)
        .collect();
    for (krate, _) in &components {
        cmd.arg("-p").arg(krate);
    }
    // The outer build's flags, wrappers (clippy, coverage) and profile
    // overrides are for the host target; none of them belong in here.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PROFILE_")
            || key.starts_with("CARGO_BUILD_")
            || key.starts_with("CARGO_TARGET_")
            || key.starts_with("CARGO_ENCODED_")
            || key.starts_with("RUSTC_")
            || key == "RUSTFLAGS"
            || key == "RUSTDOCFLAGS"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    // A 128 KiB guest stack (Rust's default is 1 MiB) keeps the pages a
    // block touches on each call few, which is most of the per-invocation
    // cost with the pooling allocator.
    cmd.env(
        "CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS",
        env::var("WEFT_COMPONENT_RUSTFLAGS")
            .unwrap_or_else(|_| "-Clink-arg=-zstack-size=131072".into()),
    );
    println!("cargo:rerun-if-env-changed=WEFT_COMPONENT_RUSTFLAGS");
    let status = cmd.status().expect("failed to run the nested cargo build");
    assert!(
        status.success(),
        "building the WASM components failed (see the cargo output above)"
    );

    let mut generated = String::new();
    let mut all = String::from(
        "/// Every bundled component: (crate name, bytes).\npub const ALL: &[(&str, &[u8])] = &[\n",
    );
    for (krate, constant) in &components {
        let file = format!("{}.wasm", krate.replace('-', "_"));
        let built = target_dir.join(TARGET).join(PROFILE).join(&file);
        let copied = out_dir.join(&file);
        std::fs::copy(&built, &copied)
            .unwrap_or_else(|e| panic!("copy {} to OUT_DIR: {e}", built.display()));
        writeln!(
            generated,
            "/// The `{krate}` component (wasm32-wasip2).\npub const {constant}: &[u8] = include_bytes!({:?});",
            copied.display().to_string()
        )
        .expect("write to String");
        writeln!(all, "    ({krate:?}, {constant}),").expect("write to String");
    }
    all.push_str("];\n");
    generated.push_str(&all);
    std::fs::write(out_dir.join("components.rs"), generated).expect("write components.rs");
}

/// OUT_DIR is `<target>[/<triple>]/<profile>/build/<pkg>-<hash>/out`.
fn outer_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .nth(4)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir.join("target"))
}

fn check_target_installed() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().to_string()));
    if let Some(sysroot) = sysroot
        && !sysroot.join("lib/rustlib").join(TARGET).exists()
    {
        panic!(
            "the Rust target {TARGET} is not installed; run `rustup target add {TARGET}` and build again"
        );
    }
}
