//! The custom code block (`code/run`): user JavaScript run by the boa
//! engine inside the `code` component, through the real engine. Exact
//! results of transforms (with `{…}` in the code left alone while the
//! block's other inputs are templated), `console.log` in the step's log,
//! syntax errors, thrown errors and results JSON cannot hold as clear
//! block failures, and hostile code — an endless loop, huge allocations,
//! runaway recursion — stopped by the sandbox's limits, after which the
//! next run works.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use weft_host::{
    ConnectorPolicy, FailureKind, InvokeContext, Limits, RunResult, RunStatus, Runtime, StepRecord,
    Weft,
};
use weft_tests::engine::{doc, run, weft_with};

/// Start → Code (the `code` input given) → Out (the code's result).
fn code_doc(code: &str, settings: Value) -> Value {
    let mut d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Code", "type": "connector", "connector": "code", "block": "run",
             "inputs": {"code": code, "input": "{$.Start}"}},
            {"id": "Out", "type": "output", "mode": "set", "value": "{$.Code.result}"}
        ]),
        json!([
            {"from": "Start", "to": "Code"},
            {"from": "Code", "to": "Out"}
        ]),
        json!({}),
    );
    d["settings"] = settings;
    d
}

fn step<'a>(r: &'a RunResult, id: &str) -> &'a StepRecord {
    r.steps
        .iter()
        .find(|s| s.block_id == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

/// Run `code` on `input`; the run must finish, and its output is returned.
async fn ok(weft: &Weft, code: &str, input: Value) -> Value {
    let r = run(weft, code_doc(code, json!({})), input).await;
    assert_eq!(
        r.record.status,
        RunStatus::Finished,
        "{code}: {:?}",
        r.record.error
    );
    r.record.output
}

/// Run `code`, which must fail the Code block; its failure kind and
/// message.
async fn fails(weft: &Weft, code: &str, settings: Value) -> (FailureKind, String) {
    let r = run(weft, code_doc(code, settings), json!({})).await;
    assert_eq!(
        r.record.status,
        RunStatus::Failed,
        "{code}: {:?}",
        r.record.output
    );
    let s = step(&r, "Code");
    let kind = s.failure.expect("a failure kind").kind;
    (kind, s.error.clone().expect("an error message"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transforms_json_with_exact_results() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let orders = json!({"orders": [
        {"id": "A-1", "customer": "Ada", "lines": [{"sku": "pen", "qty": 3, "price": 1.5}, {"sku": "ink", "qty": 1, "price": 7}]},
        {"id": "A-2", "customer": "Grace", "lines": [{"sku": "pad", "qty": 2, "price": 4.25}]},
        {"id": "A-3", "customer": "Ada", "lines": []}
    ]});
    let code = r#"
const byCustomer = {};
for (const order of input.orders) {
  const total = order.lines.reduce((sum, l) => sum + l.qty * l.price, 0);
  byCustomer[order.customer] = (byCustomer[order.customer] || 0) + total;
}
return Object.entries(byCustomer)
  .map(([customer, total]) => ({ customer, total, big: total > 10 }))
  .sort((a, b) => b.total - a.total);
"#;
    let started = Instant::now();
    let out = ok(&weft, code, orders.clone()).await;
    eprintln!(
        "first run (includes compiling the component if not cached): {:?}",
        started.elapsed()
    );
    assert_eq!(
        out,
        json!([
            {"customer": "Ada", "total": 11.5, "big": true},
            {"customer": "Grace", "total": 8.5, "big": false}
        ])
    );
    let started = Instant::now();
    let again = ok(&weft, code, orders).await;
    eprintln!("second run of a small transform: {:?}", started.elapsed());
    assert_eq!(again, out);

    // Language features: destructuring, spread, template literals, classes,
    // optional chaining, Map, regular expressions, JSON, Date (as its ISO
    // text), whole numbers as integers, await.
    let out = ok(
        &weft,
        r#"
class Money { constructor(c) { this.cents = c } toString() { return `$${(this.cents / 100).toFixed(2)}` } }
const { name, tags = [] } = input;
const counts = new Map();
for (const t of [...tags, "x"]) counts.set(t, (counts.get(t) ?? 0) + 1);
const parsed = JSON.parse('{"n": 2}');
return {
  greeting: `Hello, ${name.toUpperCase()}!`,
  price: String(new Money(1234)),
  missing: input.address?.city ?? "unknown",
  counts: Object.fromEntries(counts),
  digits: "a1b22c333".match(/\d+/g),
  n: parsed.n * 3.0,
  when: new Date(Date.UTC(2024, 0, 31, 12)),
  later: await Promise.resolve(42),
  dropped: undefined,
  sub: "weft".substr(1, 2),
};
"#,
        json!({"name": "ada", "tags": ["x", "y"]}),
    )
    .await;
    assert_eq!(
        out,
        json!({
            "greeting": "Hello, ADA!",
            "price": "$12.34",
            "missing": "unknown",
            "counts": {"x": 2, "y": 1},
            "digits": ["1", "22", "333"],
            "n": 6,
            "when": "2024-01-31T12:00:00.000Z",
            "later": 42,
            "sub": "ef"
        })
    );
    // Plain values and null come back as they are; no input is null.
    assert_eq!(ok(&weft, "return input", Value::Null).await, Value::Null);
    assert_eq!(ok(&weft, "return 'text'", json!({})).await, json!("text"));
    assert_eq!(
        ok(&weft, "return [1, 2.5, -0, true, null]", json!({})).await,
        json!([1, 2.5, 0, true, null])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_braces_are_javascript_inside_a_loop_and_logs_reach_the_step() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    // `{ sku: item.sku }` and `{item}` would be Weft templates in any other
    // block; in `code` they are JavaScript, while `input` is templated.
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Each", "type": "loop", "over": "{$.Start.items}"},
            {"id": "Code", "type": "connector", "connector": "code", "block": "run",
             "inputs": {
                "code": "const item = input;\nconsole.log('item', item.sku, {item});\nreturn { sku: item.sku.toUpperCase(), double: item.qty * 2 };",
                "input": "{item}"
             }},
            {"id": "Collect", "type": "output", "mode": "add", "value": "{$.Code.result}"}
        ]),
        json!([
            {"from": "Start", "to": "Each"},
            {"from": "Each", "to": "Code", "branch": "body"},
            {"from": "Code", "to": "Collect"}
        ]),
        json!({}),
    );
    let r = run(
        &weft,
        d,
        json!({"items": [{"sku": "pen", "qty": 2}, {"sku": "ink", "qty": 5}]}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    assert_eq!(
        r.record.output,
        json!([{"sku": "PEN", "double": 4}, {"sku": "INK", "double": 10}])
    );
    let s = step(&r, "Code");
    assert_eq!(s.logs.len(), 1, "{:?}", s.logs);
    assert!(
        s.logs[0].message.starts_with("item pen {"),
        "{:?}",
        s.logs[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_in_the_code_fail_the_block_clearly() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let cases: &[(&str, FailureKind, &str)] = &[
        (
            "const x = ;",
            FailureKind::InvalidInput,
            "`code` does not parse: SyntaxError:",
        ),
        (
            "const a = 1;\nthrow new Error('no customer');",
            FailureKind::Fatal,
            "the code threw Error: no customer",
        ),
        (
            "const a = null;\nreturn a.b;",
            FailureKind::Fatal,
            "the code threw TypeError:",
        ),
        (
            "throw 'plain text'",
            FailureKind::Fatal,
            "the code threw \"plain text\"",
        ),
        (
            "input.x = 1",
            FailureKind::Fatal,
            "the code's result is not JSON: result is undefined (did the code `return` a value?)",
        ),
        (
            "return {a: [1, 0 / 0]}",
            FailureKind::Fatal,
            "the code's result is not JSON: result.a[1] is NaN, which JSON cannot hold",
        ),
        (
            "return {f() {}}",
            FailureKind::Fatal,
            "the code's result is not JSON: result.f is a function",
        ),
        (
            "const o = {}; o.self = o; return o",
            FailureKind::Fatal,
            "the code's result is not JSON: result.self is the object it is inside (a cycle)",
        ),
        (
            "return [1, undefined]",
            FailureKind::Fatal,
            "the code's result is not JSON: result[1] is undefined",
        ),
        (
            "return 10n",
            FailureKind::Fatal,
            "the code's result is not JSON: result is a BigInt",
        ),
        (
            "await new Promise(() => {}); return 1",
            FailureKind::Fatal,
            "the code awaited a promise that never settles",
        ),
        (
            "fetch('http://example.com')",
            FailureKind::Fatal,
            "the code threw ReferenceError: fetch is not defined",
        ),
        (
            "setTimeout(() => {}, 1)",
            FailureKind::Fatal,
            "the code threw ReferenceError: setTimeout is not defined",
        ),
    ];
    for (code, kind, message) in cases {
        let (got_kind, got) = fails(&weft, code, json!({})).await;
        eprintln!("{code:?} -> {got}");
        assert_eq!(got_kind, *kind, "{code}: {got}");
        assert!(got.contains(message), "{code}: {got:?} lacks {message:?}");
    }
    // The thrown error says where.
    let (_, got) = fails(
        &weft,
        "const a = 1;\nthrow new Error('no customer');",
        json!({}),
    )
    .await;
    assert!(got.contains("(code:2:7)"), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_is_stopped_by_fuel_or_the_clock() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    // The run's fuel budget lowers the block's fuel.
    let started = Instant::now();
    let (kind, message) = fails(
        &weft,
        "while (true) {}",
        json!({"fuel_budget": 200_000_000}),
    )
    .await;
    assert_eq!(kind, FailureKind::Limit);
    assert!(
        message.contains("fuel limit of 200000000 units exhausted"),
        "{message}"
    );
    eprintln!("endless loop stopped by fuel after {:?}", started.elapsed());

    // Without a fuel limit to speak of, the wall clock stops it.
    weft.set_connector_policy(
        "code",
        ConnectorPolicy {
            allow: vec![],
            limits: Some(
                Limits::default()
                    .fuel(u64::MAX / 2)
                    .wall_clock(Duration::from_millis(300)),
            ),
        },
    )
    .expect("policy");
    let started = Instant::now();
    let (kind, message) = fails(&weft, "for (;;) { Math.random() }", json!({})).await;
    assert_eq!(kind, FailureKind::Limit);
    assert!(
        message.contains("wall-clock limit of 300 ms exceeded"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    // The next run works.
    assert_eq!(ok(&weft, "return 1 + 1", json!({})).await, json!(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_allocations_hit_the_memory_limit() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    weft.set_connector_policy(
        "code",
        ConnectorPolicy {
            allow: vec![],
            limits: Some(Limits::default().memory_bytes(32 << 20)),
        },
    )
    .expect("policy");
    // Each is stopped by a sandbox limit: the memory cap, or (for the
    // sparse array boa fills one slot at a time) fuel first.
    for (code, limits) in [
        (
            "return new Array(1e9).fill(1).length",
            &["memory limit of 33554432 bytes exceeded", "fuel limit of"][..],
        ),
        (
            "let s = 'x'; for (;;) s += s; return s.length",
            &["memory limit of 33554432 bytes exceeded"][..],
        ),
        (
            "const keep = []; for (;;) keep.push('x'.repeat(1 << 20) + keep.length);",
            &["memory limit of 33554432 bytes exceeded"][..],
        ),
    ] {
        let started = Instant::now();
        let (kind, message) = fails(&weft, code, json!({})).await;
        eprintln!("{code:?} -> {message} after {:?}", started.elapsed());
        assert_eq!(kind, FailureKind::Limit, "{code}: {message}");
        assert!(
            limits.iter().any(|l| message.contains(l)),
            "{code}: {message}"
        );
    }
    assert_eq!(
        ok(&weft, "return [1, 2].map(n => n * 10)", json!({})).await,
        json!([10, 20])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_recursion_is_a_javascript_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let (kind, message) = fails(
        &weft,
        "function down(n) { return down(n + 1) + 1 }\nreturn down(0)",
        json!({}),
    )
    .await;
    eprintln!("recursion -> {message}");
    assert_eq!(kind, FailureKind::Fatal, "{message}");
    assert!(
        message.contains("reached the maximum number of recursive calls"),
        "{message}"
    );
    // Like the sandbox's limits, it cannot be caught by the script.
    let (kind, message) = fails(
        &weft,
        "function down(n) { return down(n + 1) + 1 }\ntry { down(0) } catch (e) { return 'caught' }",
        json!({}),
    )
    .await;
    assert_eq!(kind, FailureKind::Fatal, "{message}");
    assert!(
        message.contains("reached the maximum number of recursive calls"),
        "{message}"
    );
    // Recursion within the limit works.
    let out = ok(
        &weft,
        "const fact = n => n <= 1 ? 1 : n * fact(n - 1);\nconst depth = n => n === 0 ? 0 : 1 + depth(n - 1);\nreturn { fact: fact(15), depth: depth(300) }",
        json!({}),
    )
    .await;
    assert_eq!(out, json!({"fact": 1307674368000u64, "depth": 300}));
    // Deeply nested source is refused or run, never a crash of the host.
    let nested = format!("return {}1{}", "[".repeat(2000), "]".repeat(2000));
    let r = run(&weft, code_doc(&nested, json!({})), json!({})).await;
    eprintln!(
        "nested source -> {:?} {:?}",
        r.record.status,
        step(&r, "Code").error
    );
    assert_eq!(
        ok(&weft, "return 'still here'", json!({})).await,
        json!("still here")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_code_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let code = format!("return 1 // {}", "x".repeat(300 << 10));
    let (kind, message) = fails(&weft, &code, json!({})).await;
    assert_eq!(kind, FailureKind::InvalidInput);
    assert!(message.contains("the limit is 262144 bytes"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_component_describes_its_block_and_marks_code_verbatim() {
    // No compilation cache: this measures wasmtime compiling the engine.
    let rt = Runtime::builder().build().expect("runtime");
    let started = Instant::now();
    let c = rt.load(weft_components::CODE).await.expect("load code");
    eprintln!(
        "code component: {} bytes, loaded (compiled, uncached) in {:?}",
        weft_components::CODE.len(),
        started.elapsed()
    );
    let m = c.manifest();
    assert_eq!(m.id, "code");
    let run = m.block("run").expect("run block");
    assert_eq!(
        run.input_schema["properties"]["code"]["x-weft-verbatim"],
        json!(true)
    );
    assert_eq!(run.input_schema["required"], json!(["code"]));
    let started = Instant::now();
    let out = c
        .invoke(
            "run",
            &json!({"code": "return input.map(n => n * n)", "input": [1, 2, 3]}),
            &InvokeContext::default(),
        )
        .await;
    eprintln!(
        "one small transform: {:?} wall, {:?} fuel",
        started.elapsed(),
        out.fuel_used
    );
    assert_eq!(out.output.expect("run"), json!({"result": [1, 4, 9]}));
}
