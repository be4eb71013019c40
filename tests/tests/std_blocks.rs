//! The standard blocks (`lists`, `text`, `json`, `datetime`, `math`), each a
//! WASM component built with the public SDK, run in the real host: exact
//! outputs for every block and the invalid-input errors they promise (the
//! `lists` blocks' own cases are in `std_lists.rs`).

use serde_json::{Value, json};
use weft_host::Connector;
use weft_tests::blocks::{invalid, load, ok};

fn block_ids(c: &Connector) -> Vec<&str> {
    c.manifest().blocks.iter().map(|b| b.id.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_declare_the_blocks_with_documented_schemas() {
    for (bytes, id, blocks) in [
        (
            weft_components::LISTS,
            "lists",
            &[
                "filter",
                "merge",
                "deduplicate",
                "lookup",
                "limit",
                "sort",
                "transform",
                "compare",
                "group",
            ][..],
        ),
        (
            weft_components::TEXT,
            "text",
            &["split", "join", "replace", "regex-match"][..],
        ),
        (
            weft_components::JSON,
            "json",
            &["parse", "stringify", "pick", "set-path"][..],
        ),
        (
            weft_components::DATETIME,
            "datetime",
            &["now", "format", "parse", "add"][..],
        ),
        (
            weft_components::MATH,
            "math",
            &["calculate", "round", "aggregate"][..],
        ),
    ] {
        let c = load(bytes).await;
        assert_eq!(c.manifest().id, id);
        assert_eq!(block_ids(&c), blocks, "{id}");
        assert!(c.manifest().hosts.is_empty(), "{id} makes no HTTP calls");
        for block in &c.manifest().blocks {
            let schema = &block.input_schema;
            assert_eq!(
                schema["additionalProperties"],
                json!(false),
                "{id}/{}: unknown input fields are refused",
                block.id
            );
            if let Some(props) = schema["properties"].as_object() {
                for (name, prop) in props {
                    let described = prop.get("description").is_some()
                        || prop.get("$ref").is_some()
                        || prop.get("allOf").is_some();
                    assert!(
                        described,
                        "{id}/{}: field {name} has no description",
                        block.id
                    );
                }
            }
        }
    }
    let lists = load(weft_components::LISTS).await;
    let filter = &lists
        .manifest()
        .block("filter")
        .expect("filter")
        .input_schema;
    assert_eq!(filter["required"], json!(["list", "conditions"]));
    assert_eq!(filter["properties"]["mode"]["default"], json!("all"));
}

// ------------------------------------------------------------------ text

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_blocks() {
    let c = load(weft_components::TEXT).await;

    let out = ok(&c, "split", json!({"text": "a,b,,c", "separator": ","})).await;
    assert_eq!(out, json!({"parts": ["a", "b", "", "c"], "count": 4}));
    let out = ok(&c, "split", json!({"text": "héj", "separator": ""})).await;
    assert_eq!(out, json!({"parts": ["h", "é", "j"], "count": 3}));
    let msg = invalid(&c, "split", json!({"text": "a"})).await;
    assert!(msg.contains("separator"), "{msg}");

    let out = ok(
        &c,
        "join",
        json!({"parts": ["a", 1, true, null, {"k": "v"}, 2.5], "separator": "-"}),
    )
    .await;
    assert_eq!(out, json!({"text": "a-1-true-null-{\"k\":\"v\"}-2.5"}));
    let out = ok(&c, "join", json!({"parts": ["x", "y"]})).await;
    assert_eq!(out, json!({"text": "xy"}));

    let out = ok(
        &c,
        "replace",
        json!({"text": "a-b-c", "find": "-", "replace_with": "+"}),
    )
    .await;
    assert_eq!(out, json!({"text": "a+b+c"}));
    let out = ok(
        &c,
        "replace",
        json!({"text": "a-b-c", "find": "-", "replace_with": "", "all": false}),
    )
    .await;
    assert_eq!(out, json!({"text": "ab-c"}));
    let msg = invalid(
        &c,
        "replace",
        json!({"text": "abc", "find": "", "replace_with": "x"}),
    )
    .await;
    assert!(msg.contains("`find`"), "{msg}");

    let pattern = r"(?P<y>\d{4})-(?P<m>\d{2})(?:-(\d{2}))?";
    let text = "on 2024-05-01 and 2025-12";
    let out = ok(
        &c,
        "regex-match",
        json!({"text": text, "pattern": pattern, "all": true}),
    )
    .await;
    assert_eq!(
        out,
        json!({"matched": true, "matches": [
            {"text": "2024-05-01", "groups": ["2024", "05", "01"], "named": {"y": "2024", "m": "05"}},
            {"text": "2025-12", "groups": ["2025", "12", null], "named": {"y": "2025", "m": "12"}},
        ]})
    );
    let out = ok(&c, "regex-match", json!({"text": text, "pattern": pattern})).await;
    assert_eq!(out["matches"].as_array().map(Vec::len), Some(1));
    assert_eq!(out["matches"][0]["text"], "2024-05-01");
    let out = ok(
        &c,
        "regex-match",
        json!({"text": "Grüße", "pattern": r"^\w+$"}),
    )
    .await;
    assert_eq!(
        out,
        json!({"matched": true, "matches": [{"text": "Grüße", "groups": [], "named": {}}]})
    );
    let msg = invalid(
        &c,
        "regex-match",
        json!({"text": "x", "pattern": "(unclosed"}),
    )
    .await;
    assert!(
        msg.contains("`pattern`") && msg.contains("unclosed group"),
        "{msg}"
    );
}

// ------------------------------------------------------------------ json

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_blocks() {
    let c = load(weft_components::JSON).await;

    let out = ok(
        &c,
        "parse",
        json!({"text": r#"{"a": [1, 2.5, "x", null]}"#}),
    )
    .await;
    assert_eq!(out, json!({"value": {"a": [1, 2.5, "x", null]}}));
    let out = ok(&c, "parse", json!({"text": "7"})).await;
    assert_eq!(out, json!({"value": 7}));
    let msg = invalid(&c, "parse", json!({"text": "{\"a\": }"})).await;
    assert!(
        msg.contains("`text`") && msg.contains("line 1 column 7"),
        "{msg}"
    );

    let out = ok(
        &c,
        "stringify",
        json!({"value": {"a": [true, null], "b": 1.5}}),
    )
    .await;
    assert_eq!(out, json!({"text": r#"{"a":[true,null],"b":1.5}"#}));
    let out = ok(&c, "stringify", json!({"value": {"a": 1}, "pretty": true})).await;
    assert_eq!(out, json!({"text": "{\n  \"a\": 1\n}"}));
    let out = ok(&c, "stringify", json!({"value": "x"})).await;
    assert_eq!(out, json!({"text": "\"x\""}));

    let doc = json!({"a": {"b": [10, {"c": "deep"}]}, "n": null});
    let out = ok(&c, "pick", json!({"value": doc, "path": "a.b[1].c"})).await;
    assert_eq!(out, json!({"found": true, "value": "deep"}));
    let out = ok(&c, "pick", json!({"value": doc, "path": "a.b.0"})).await;
    assert_eq!(out, json!({"found": true, "value": 10}));
    let out = ok(&c, "pick", json!({"value": doc, "path": "a.missing"})).await;
    assert_eq!(out, json!({"found": false, "value": null}));
    let out = ok(&c, "pick", json!({"value": doc, "path": "n"})).await;
    assert_eq!(out, json!({"found": true, "value": null}));
    let msg = invalid(&c, "pick", json!({"value": doc})).await;
    assert!(msg.contains("path"), "{msg}");

    let out = ok(
        &c,
        "set-path",
        json!({"value": {"a": 1}, "path": "b.items[2].name", "new_value": "x"}),
    )
    .await;
    assert_eq!(
        out,
        json!({"value": {"a": 1, "b": {"items": [null, null, {"name": "x"}]}}})
    );
    let out = ok(
        &c,
        "set-path",
        json!({"value": {"a": [1, 2]}, "path": "a.1", "new_value": {"k": true}}),
    )
    .await;
    assert_eq!(out, json!({"value": {"a": [1, {"k": true}]}}));
    let out = ok(
        &c,
        "set-path",
        json!({"value": null, "path": "x.y", "new_value": 3}),
    )
    .await;
    assert_eq!(out, json!({"value": {"x": {"y": 3}}}));
    let out = ok(
        &c,
        "set-path",
        json!({"value": {"a": 1}, "path": "", "new_value": [1]}),
    )
    .await;
    assert_eq!(out, json!({"value": [1]}));
    let msg = invalid(
        &c,
        "set-path",
        json!({"value": {"a": 1}, "path": "a.b", "new_value": 2}),
    )
    .await;
    assert!(
        msg.contains("`path`") && msg.contains("`a` is a number"),
        "{msg}"
    );
    let msg = invalid(
        &c,
        "set-path",
        json!({"value": {"a": [1]}, "path": "a.x", "new_value": 2}),
    )
    .await;
    assert!(msg.contains("`a` is a list"), "{msg}");
}

// -------------------------------------------------------------- datetime

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datetime_blocks() {
    let c = load(weft_components::DATETIME).await;

    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let out = ok(&c, "now", json!({})).await;
    let unix_ms = out["unix_ms"].as_i64().expect("unix_ms");
    assert!((unix_ms - before).abs() < 60_000, "{out}");
    assert_eq!(out["unix"].as_i64(), Some(unix_ms.div_euclid(1000)));
    let iso = out["iso"].as_str().expect("iso");
    assert!(iso.ends_with('Z') && iso.len() == 24, "{iso}");
    let msg = invalid(&c, "now", json!({"tz": "CET"})).await;
    assert!(msg.contains("tz"), "{msg}");

    let out = ok(
        &c,
        "format",
        json!({"datetime": "2024-05-01T14:30:00+02:00"}),
    )
    .await;
    assert_eq!(out, json!({"text": "2024-05-01T12:30:00Z"}));
    let out = ok(
        &c,
        "format",
        json!({"datetime": "2024-05-01", "format": "%d.%m.%Y %H:%M"}),
    )
    .await;
    assert_eq!(out, json!({"text": "01.05.2024 00:00"}));
    let out = ok(
        &c,
        "format",
        json!({"datetime": 1714566600, "format": "%A %e %B %Y, %H:%M %Z"}),
    )
    .await;
    assert_eq!(out, json!({"text": "Wednesday  1 May 2024, 12:30 UTC"}));
    for bad in ["%Y-%!", "%", "%Y %Ez"] {
        let msg = invalid(
            &c,
            "format",
            json!({"datetime": "2024-05-01", "format": bad}),
        )
        .await;
        assert!(
            msg.contains("`format`") && msg.contains("strftime"),
            "{bad}: {msg}"
        );
    }
    let msg = invalid(&c, "format", json!({"datetime": "yesterday"})).await;
    assert!(msg.contains("`datetime`"), "{msg}");
    let msg = invalid(&c, "format", json!({"datetime": true})).await;
    assert!(msg.contains("datetime"), "{msg}");

    let out = ok(
        &c,
        "parse",
        json!({"text": "01.05.2024 14:30", "format": "%d.%m.%Y %H:%M"}),
    )
    .await;
    assert_eq!(
        out,
        json!({"iso": "2024-05-01T14:30:00Z", "unix": 1_714_573_800})
    );
    let out = ok(
        &c,
        "parse",
        json!({"text": "2024-05-01 14:30 +0200", "format": "%Y-%m-%d %H:%M %z"}),
    )
    .await;
    assert_eq!(
        out,
        json!({"iso": "2024-05-01T12:30:00Z", "unix": 1_714_566_600})
    );
    let out = ok(
        &c,
        "parse",
        json!({"text": "05/01/2024", "format": "%m/%d/%Y"}),
    )
    .await;
    assert_eq!(
        out,
        json!({"iso": "2024-05-01T00:00:00Z", "unix": 1_714_521_600})
    );
    let out = ok(
        &c,
        "parse",
        json!({"text": "2024-05-01T12:30:00.250+00:00"}),
    )
    .await;
    assert_eq!(
        out,
        json!({"iso": "2024-05-01T12:30:00.250Z", "unix": 1_714_566_600})
    );
    let out = ok(&c, "parse", json!({"text": "2024-05-01"})).await;
    assert_eq!(
        out,
        json!({"iso": "2024-05-01T00:00:00Z", "unix": 1_714_521_600})
    );
    let msg = invalid(
        &c,
        "parse",
        json!({"text": "May 1st", "format": "%d.%m.%Y"}),
    )
    .await;
    assert!(msg.contains("does not match"), "{msg}");
    let msg = invalid(&c, "parse", json!({"text": "soon"})).await;
    assert!(msg.contains("`text`"), "{msg}");
    let msg = invalid(&c, "parse", json!({"text": "2024", "format": "%Y %!"})).await;
    assert!(msg.contains("`format`"), "{msg}");

    let out = ok(
        &c,
        "add",
        json!({
            "datetime": "2024-01-31T10:00:00Z",
            "months": 1,
            "days": 1,
            "hours": -2,
            "minutes": 30,
            "seconds": 15,
        }),
    )
    .await;
    assert_eq!(
        out,
        json!({"iso": "2024-03-01T08:30:15Z", "unix": 1_709_281_815})
    );
    let out = ok(&c, "add", json!({"datetime": 1714566600, "days": -1})).await;
    assert_eq!(
        out,
        json!({"iso": "2024-04-30T12:30:00Z", "unix": 1_714_480_200})
    );
    let out = ok(&c, "add", json!({"datetime": "2024-03-31", "months": -1})).await;
    assert_eq!(out["iso"], "2024-02-29T00:00:00Z");
    let msg = invalid(
        &c,
        "add",
        json!({"datetime": "2024-01-01", "days": 9_000_000_000_000i64}),
    )
    .await;
    assert!(msg.contains("`days`"), "{msg}");
    let msg = invalid(&c, "add", json!({"datetime": "2024-01-01", "days": 1.5})).await;
    assert!(msg.contains("days"), "{msg}");
}

// ------------------------------------------------------------------ math

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn math_calculate_and_round() {
    let c = load(weft_components::MATH).await;
    let calc = |op: &str, a: Value, b: Value| json!({"operation": op, "a": a, "b": b});

    for (op, a, b, expected) in [
        ("add", json!(2), json!(12), json!(14)),
        ("add", json!(0.5), json!(13.5), json!(14)),
        ("subtract", json!(5), json!(7.5), json!(-2.5)),
        (
            "multiply",
            json!(9_007_199_254_740_993i64),
            json!(1),
            json!(9_007_199_254_740_993i64),
        ),
        (
            "multiply",
            json!(i64::MAX),
            json!(2),
            json!(1.8446744073709552e19),
        ),
        ("divide", json!(7), json!(2), json!(3.5)),
        ("divide", json!(8), json!(-2), json!(-4)),
        ("divide", json!(1), json!(3), json!(1.0 / 3.0)),
        ("modulo", json!(-7), json!(3), json!(-1)),
        ("modulo", json!(7.5), json!(2), json!(1.5)),
        ("power", json!(2), json!(10), json!(1024)),
        ("power", json!(2), json!(-1), json!(0.5)),
        (
            "power",
            json!(2),
            json!(0.5),
            json!(std::f64::consts::SQRT_2),
        ),
        ("power", json!(4), json!(0.5), json!(2)),
    ] {
        let out = ok(&c, "calculate", calc(op, a.clone(), b.clone())).await;
        assert_eq!(out, json!({ "result": expected }), "{op} {a} {b}");
    }
    let out = ok(&c, "calculate", calc("add", json!(0.5), json!(13.5))).await;
    assert!(out["result"].is_i64(), "whole results are integers: {out}");

    let msg = invalid(&c, "calculate", calc("divide", json!(1), json!(0))).await;
    assert!(
        msg.contains("division by zero") && msg.contains("`b`"),
        "{msg}"
    );
    let msg = invalid(&c, "calculate", calc("divide", json!(1), json!(0.0))).await;
    assert!(msg.contains("division by zero"), "{msg}");
    let msg = invalid(&c, "calculate", calc("modulo", json!(5), json!(0))).await;
    assert!(msg.contains("modulo by zero"), "{msg}");
    let msg = invalid(&c, "calculate", calc("power", json!(-8), json!(0.5))).await;
    assert!(msg.contains("not a finite number"), "{msg}");
    let msg = invalid(&c, "calculate", calc("root", json!(1), json!(2))).await;
    assert!(msg.contains("operation"), "{msg}");
    let msg = invalid(&c, "calculate", calc("add", json!("1"), json!(2))).await;
    assert!(msg.contains("`a`"), "{msg}");

    for (input, expected) in [
        (json!({"value": 12.34567, "decimals": 2}), json!(12.35)),
        (json!({"value": 2.5}), json!(3)),
        (json!({"value": -2.5}), json!(-3)),
        (json!({"value": 1.005, "decimals": 2}), json!(1.01)),
        (json!({"value": 2.675, "decimals": 2}), json!(2.68)),
        (json!({"value": -2.5, "mode": "floor"}), json!(-3)),
        (json!({"value": 2.1, "mode": "ceil"}), json!(3)),
        (json!({"value": -0.4}), json!(0)),
        (json!({"value": 1234, "decimals": -2}), json!(1200)),
        (json!({"value": 1250.0, "decimals": -2}), json!(1300)),
        (json!({"value": 7, "decimals": 3}), json!(7)),
        (
            json!({"value": 1.23456789, "decimals": 4, "mode": "floor"}),
            json!(1.2345),
        ),
    ] {
        let out = ok(&c, "round", input.clone()).await;
        assert_eq!(out, json!({ "result": expected }), "{input}");
    }
    let msg = invalid(&c, "round", json!({"value": 1, "decimals": 301})).await;
    assert!(msg.contains("`decimals`"), "{msg}");
    let msg = invalid(&c, "round", json!({"value": 1, "mode": "up"})).await;
    assert!(msg.contains("mode"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn math_aggregate() {
    let c = load(weft_components::MATH).await;
    let agg = |list: Value, op: &str| json!({"list": list, "operation": op});

    for (input, expected) in [
        (agg(json!([1, "2", " 3.5 "]), "sum"), json!(6.5)),
        (agg(json!([1, 2, 3]), "sum"), json!(6)),
        (agg(json!([0.25, 0.75]), "sum"), json!(1)),
        (agg(json!([]), "sum"), json!(0)),
        (agg(json!([1, 2]), "average"), json!(1.5)),
        (agg(json!([2, "4"]), "average"), json!(3)),
        (agg(json!([3, "-1", 2.5]), "min"), json!(-1)),
        (agg(json!([3, "-1", 2.5]), "max"), json!(3)),
        (agg(json!([1, "x", null]), "count"), json!(3)),
        (agg(json!([]), "count"), json!(0)),
        (agg(json!([]), "average"), json!(null)),
        (agg(json!([]), "min"), json!(null)),
        (agg(json!([]), "max"), json!(null)),
        (
            json!({"list": [{"price": 2}, {"price": "3"}], "field": "price", "operation": "sum"}),
            json!(5),
        ),
    ] {
        let out = ok(&c, "aggregate", input.clone()).await;
        assert_eq!(out, json!({ "result": expected }), "{input}");
    }
    let msg = invalid(&c, "aggregate", agg(json!([1, "x"]), "sum")).await;
    assert!(
        msg.contains("list[1]") && msg.contains("not a number"),
        "{msg}"
    );
    let msg = invalid(
        &c,
        "aggregate",
        json!({"list": [{"price": 1}, {"cost": 2}], "field": "price", "operation": "max"}),
    )
    .await;
    assert!(msg.contains("list[1].price"), "{msg}");
    let msg = invalid(&c, "aggregate", agg(json!([1]), "median")).await;
    assert!(msg.contains("operation"), "{msg}");
}
