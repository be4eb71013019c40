//! The fuzz targets (`weft_host::fuzz_targets`) on stable Rust, so every
//! test run exercises them: each runs over its seed corpus
//! (`fuzz/corpus/<target>/`) and then over mutations of it drawn from a
//! fixed-seed generator — byte flips, insertions of the target's own
//! tokens, deletions, duplications and splices — bounded in count and
//! time. The same inputs every run: a failure here reproduces. The
//! coverage-guided libFuzzer runs of the same functions are in `fuzz/`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Mutated inputs per target, and the time after which a target stops
/// early (a slow machine runs fewer, never longer).
const MUTATIONS: usize = 3000;
const TIME_PER_TARGET: Duration = Duration::from_secs(8);
const MAX_LEN: usize = 4096;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| std::fs::read(p).expect("read seed"))
        .collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], tokens: &[&str]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => data.insert(at, rng.next() as u8),
            2 if !data.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(data.len());
                data.drain(at.min(end)..end);
            }
            3 if !data.is_empty() => {
                let start = rng.below(data.len());
                let end = (start + 1 + rng.below(32)).min(data.len());
                let piece = data[start..end].to_vec();
                let at = rng.below(data.len() + 1);
                data.splice(at..at, piece);
            }
            4 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                let piece = other[from..(from + rng.below(64)).min(other.len())].to_vec();
                data.splice(at..at, piece);
            }
            _ => {
                let token = tokens[rng.below(tokens.len())].as_bytes();
                data.splice(at..at, token.iter().copied());
            }
        }
    }
    data.truncate(MAX_LEN);
    data
}

/// Run `target` on every seed, then on seeded mutations. Returns how many
/// inputs ran.
fn exercise(name: &str, target: fn(&[u8]), tokens: &[&str], seed: u64) -> usize {
    let seeds = corpus(name);
    for s in &seeds {
        target(s);
    }
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut ran = seeds.len();
    for _ in 0..MUTATIONS {
        if started.elapsed() > TIME_PER_TARGET {
            break;
        }
        let input = mutate(&mut rng, &seeds, tokens);
        target(&input);
        ran += 1;
    }
    ran
}

#[test]
fn automation_document_parser_and_validator() {
    let tokens = [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "null",
        "\"type\": \"loop\"",
        "\"branch\": \"body\"",
        "\"edges\": []",
        "{$.Start.x}",
        "{item}",
        "\"on_error\": \"warning\"",
        "\"retry\": {}",
    ];
    let ran = exercise(
        "automation",
        weft_host::fuzz_targets::automation,
        &tokens,
        0x5eed_0001,
    );
    assert!(ran > 100, "{ran}");
}

#[test]
fn template_and_formula_parser_and_evaluator() {
    let tokens = [
        "{",
        "}",
        "$.",
        "item",
        "[0]",
        ".",
        ",",
        "'",
        "\"",
        ": ",
        "{json: ",
        "{concat: ",
        "{default: ",
        "{date: ",
        "{round: ",
        "{split: ",
        "{join: ",
        "{count: ",
        "null",
        "true",
        "1e3",
    ];
    let ran = exercise(
        "template",
        weft_host::fuzz_targets::template,
        &tokens,
        0x5eed_0002,
    );
    assert!(ran > 100, "{ran}");
}

#[test]
fn allow_list_parser() {
    let tokens = [
        "*",
        "*.",
        "://",
        ":",
        ":*",
        "http",
        "https",
        "[",
        "]",
        "::1",
        "127.0.0.1",
        "{",
        "}",
        "\n",
        "xn--",
        "%",
        "@",
        "/",
        "0",
    ];
    let ran = exercise(
        "allow_list",
        weft_host::fuzz_targets::allow_list,
        &tokens,
        0x5eed_0003,
    );
    assert!(ran > 100, "{ran}");
}

#[test]
fn manifest_validator() {
    let tokens = [
        "{",
        "}",
        "[",
        "]",
        ",",
        "\"",
        "\\\"",
        "$ref",
        "#/$defs/a",
        "pattern",
        "\"port\": 0",
        "\"any\"",
        "\"*\"",
        "\"bearer\"",
        "{\\\"type\\\": 1}",
    ];
    let ran = exercise(
        "manifest",
        weft_host::fuzz_targets::manifest,
        &tokens,
        0x5eed_0004,
    );
    assert!(ran > 100, "{ran}");
}

#[test]
fn secret_scrubbing() {
    let tokens = [
        "\\u00", "\\u0073", "\\/", "%", "%2", "%73", "+", "&#", "&#x", ";", "&amp;", "\n", "=",
        "\"", "{", "}", "aHVudGVy", "73",
    ];
    let ran = exercise(
        "scrub",
        weft_host::fuzz_targets::scrub,
        &tokens,
        0x5eed_0005,
    );
    assert!(ran > 100, "{ran}");
}
