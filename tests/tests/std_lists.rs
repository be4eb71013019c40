//! The `lists` standard component in the real host: exact outputs for
//! every block and the invalid-input errors they promise.

use serde_json::json;
use weft_tests::blocks::{invalid, load, ok};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_filter_merge_deduplicate_lookup_limit() {
    let c = load(weft_components::LISTS).await;
    let people = json!([
        {"name": "a", "age": 30, "tags": ["x"]},
        {"name": "b", "age": "17"},
        {"name": "c"},
    ]);

    let out = ok(
        &c,
        "filter",
        json!({"list": people, "conditions": [{"field": "age", "op": ">=", "value": 18}]}),
    )
    .await;
    assert_eq!(
        out,
        json!({"list": [{"name": "a", "age": 30, "tags": ["x"]}], "count": 1})
    );
    let out = ok(
        &c,
        "filter",
        json!({
            "list": people,
            "mode": "some",
            "conditions": [
                {"field": "age", "op": "<", "value": 18},
                {"field": "age", "op": "empty"},
            ],
        }),
    )
    .await;
    assert_eq!(
        out,
        json!({"list": [{"name": "b", "age": "17"}, {"name": "c"}], "count": 2})
    );
    let out = ok(
        &c,
        "filter",
        json!({"list": [1, "2", "x", 4.5, null], "conditions": [{"op": "is number"}]}),
    )
    .await;
    assert_eq!(out, json!({"list": [1, 4.5], "count": 2}));
    let out = ok(
        &c,
        "filter",
        json!({"list": people, "conditions": [{"field": "tags", "op": "contains", "value": "x"}]}),
    )
    .await;
    assert_eq!(out["count"], 1);
    let msg = invalid(
        &c,
        "filter",
        json!({"list": [], "conditions": [{"op": "~="}]}),
    )
    .await;
    assert!(msg.contains("conditions[0].op"), "{msg}");
    let msg = invalid(&c, "filter", json!({"list": [], "conditons": []})).await;
    assert!(msg.contains("conditons"), "{msg}");

    let out = ok(&c, "merge", json!({"lists": [[1, 2], [], [3, {"a": 1}]]})).await;
    assert_eq!(out, json!({"list": [1, 2, 3, {"a": 1}], "count": 4}));
    let msg = invalid(&c, "merge", json!({"lists": [[1], 2]})).await;
    assert!(msg.contains("lists[1]"), "{msg}");

    let out = ok(
        &c,
        "deduplicate",
        json!({
            "list": [{"id": 1, "v": "a"}, {"id": 2}, {"id": 1, "v": "b"}, {"x": 0}, {"y": 0}],
            "key": "id",
        }),
    )
    .await;
    assert_eq!(
        out,
        json!({"list": [{"id": 1, "v": "a"}, {"id": 2}, {"x": 0}], "count": 3, "removed": 2})
    );
    let out = ok(
        &c,
        "deduplicate",
        json!({"list": [1, "1", 1, {"a": 1, "b": [2]}, {"b": [2], "a": 1}, [1], [1]]}),
    )
    .await;
    assert_eq!(
        out,
        json!({"list": [1, "1", {"a": 1, "b": [2]}, [1]], "count": 4, "removed": 3})
    );

    let list = json!([{"id": 1, "n": "a"}, {"id": "2", "n": "b"}, {"id": 2, "n": "c"}]);
    let out = ok(
        &c,
        "lookup",
        json!({"list": list, "field": "id", "value": 2}),
    )
    .await;
    assert_eq!(
        out,
        json!({"found": true, "item": {"id": "2", "n": "b"}, "index": 1})
    );
    let out = ok(
        &c,
        "lookup",
        json!({"list": list, "field": "n", "value": "z"}),
    )
    .await;
    assert_eq!(out, json!({"found": false, "item": null, "index": null}));
    let out = ok(
        &c,
        "lookup",
        json!({"list": [5, 6], "field": "", "value": "6"}),
    )
    .await;
    assert_eq!(out, json!({"found": true, "item": 6, "index": 1}));
    let msg = invalid(&c, "lookup", json!({"list": list, "value": 2})).await;
    assert!(msg.contains("field"), "{msg}");

    let out = ok(
        &c,
        "limit",
        json!({"list": [1, 2, 3, 4, 5], "limit": 2, "offset": 1}),
    )
    .await;
    assert_eq!(out, json!({"list": [2, 3], "count": 2}));
    let out = ok(&c, "limit", json!({"list": [1, 2, 3], "limit": 10})).await;
    assert_eq!(out, json!({"list": [1, 2, 3], "count": 3}));
    let out = ok(
        &c,
        "limit",
        json!({"list": [1, 2, 3], "limit": 10, "offset": 5}),
    )
    .await;
    assert_eq!(out, json!({"list": [], "count": 0}));
    let msg = invalid(&c, "limit", json!({"list": [1], "limit": -1})).await;
    assert!(msg.contains("limit"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_sort_transform_compare() {
    let c = load(weft_components::LISTS).await;
    let list = json!([
        {"p": "10"},
        {"p": 9},
        {"p": "b"},
        {"p": null},
        {"q": 1},
        {"p": "a"},
        {"p": 9.5},
        {"p": 9, "second": true},
    ]);
    let out = ok(&c, "sort", json!({"list": list, "field": "p"})).await;
    assert_eq!(
        out,
        json!({"list": [
            {"p": 9},
            {"p": 9, "second": true},
            {"p": 9.5},
            {"p": "10"},
            {"p": "a"},
            {"p": "b"},
            {"p": null},
            {"q": 1},
        ], "count": 8})
    );
    let out = ok(
        &c,
        "sort",
        json!({"list": list, "field": "p", "direction": "desc"}),
    )
    .await;
    assert_eq!(
        out,
        json!({"list": [
            {"p": "b"},
            {"p": "a"},
            {"p": "10"},
            {"p": 9.5},
            {"p": 9},
            {"p": 9, "second": true},
            {"p": null},
            {"q": 1},
        ], "count": 8})
    );
    let out = ok(&c, "sort", json!({"list": [3, null, "2", 1, "x"]})).await;
    assert_eq!(out, json!({"list": [1, "2", 3, "x", null], "count": 5}));
    let msg = invalid(&c, "sort", json!({"list": [], "direction": "down"})).await;
    assert!(msg.contains("direction"), "{msg}");

    let out = ok(
        &c,
        "transform",
        json!({
            "list": [
                {"id": 1, "first": "Ada", "secret": "x"},
                {"id": 2, "first": "Bob", "last": "B"},
            ],
            "pick": ["id", "first", "last"],
            "rename": {"first": "name", "last": "surname"},
            "set": {"source": "crm", "id": 0},
        }),
    )
    .await;
    assert_eq!(
        out,
        json!({"list": [
            {"id": 0, "name": "Ada", "source": "crm"},
            {"id": 0, "name": "Bob", "surname": "B", "source": "crm"},
        ], "count": 2})
    );
    let out = ok(
        &c,
        "transform",
        json!({"list": [{"a": 1, "b": 2}], "rename": {"a": "b", "b": "a"}}),
    )
    .await;
    assert_eq!(out, json!({"list": [{"a": 2, "b": 1}], "count": 1}));
    let msg = invalid(
        &c,
        "transform",
        json!({"list": [{"a": 1}, 5], "set": {"b": 2}}),
    )
    .await;
    assert!(
        msg.contains("list[1]") && msg.contains("not an object"),
        "{msg}"
    );

    let out = ok(
        &c,
        "compare",
        json!({
            "left": [{"id": 1}, {"id": 2, "side": "l"}, {"id": 3}],
            "right": [{"id": 2, "side": "r"}, {"id": 4}],
            "key": "id",
        }),
    )
    .await;
    assert_eq!(
        out,
        json!({
            "only_in_left": [{"id": 1}, {"id": 3}],
            "only_in_right": [{"id": 4}],
            "in_both": [{"id": 2, "side": "l"}],
            "matched": [{"left": {"id": 2, "side": "l"}, "right": {"id": 2, "side": "r"}}],
        })
    );
    let out = ok(
        &c,
        "compare",
        json!({"left": ["a", "b"], "right": ["b", "c"]}),
    )
    .await;
    assert_eq!(
        out,
        json!({"only_in_left": ["a"], "only_in_right": ["c"], "in_both": ["b"],
               "matched": [{"left": "b", "right": "b"}]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_compare_with_a_key_per_side() {
    let c = load(weft_components::LISTS).await;
    // CRM contacts against billing accounts: the key has another name on
    // each side; the first right item with the key is the match.
    let out = ok(
        &c,
        "compare",
        json!({
            "left": [{"email": "ada@x.io", "name": "Ada"}, {"email": "bob@x.io", "name": "Bob"}],
            "right": [
                {"contact": {"email": "bob@x.io"}, "plan": "pro"},
                {"contact": {"email": "bob@x.io"}, "plan": "old"},
                {"contact": {"email": "cy@x.io"}, "plan": "free"},
            ],
            "left_key": "email",
            "right_key": "contact.email",
        }),
    )
    .await;
    assert_eq!(
        out,
        json!({
            "only_in_left": [{"email": "ada@x.io", "name": "Ada"}],
            "only_in_right": [{"contact": {"email": "cy@x.io"}, "plan": "free"}],
            "in_both": [{"email": "bob@x.io", "name": "Bob"}],
            "matched": [{
                "left": {"email": "bob@x.io", "name": "Bob"},
                "right": {"contact": {"email": "bob@x.io"}, "plan": "pro"},
            }],
        })
    );
    // `key` is the default for a side without its own.
    let out = ok(
        &c,
        "compare",
        json!({"left": [{"id": 1}], "right": [{"ref": 1}], "key": "id", "right_key": "ref"}),
    )
    .await;
    assert_eq!(
        out["matched"],
        json!([{"left": {"id": 1}, "right": {"ref": 1}}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_group_by_key_with_aggregates() {
    let c = load(weft_components::LISTS).await;
    let sales = json!([
        {"category": "books", "amount": 0.1, "customer": "ada"},
        {"category": "games", "amount": "19.99", "customer": "bob"},
        {"category": "books", "amount": 0.2, "customer": "bob"},
        {"category": "books", "customer": "ada"},
        {"amount": 5, "customer": "cy"},
    ]);
    let out = ok(
        &c,
        "group",
        json!({
            "list": sales,
            "key": "category",
            "aggregates": [
                {"field": "amount", "operation": "sum"},
                {"field": "amount", "operation": "average", "name": "mean"},
                {"field": "amount", "operation": "max"},
                {"field": "amount", "operation": "count"},
                {"field": "customer", "operation": "count-distinct", "name": "customers"},
                {"field": "customer", "operation": "first"},
                {"field": "customer", "operation": "list", "name": "who"},
            ],
        }),
    )
    .await;
    // Decimal sums (0.1 + 0.2 is 0.3), groups in order of first
    // appearance, items without the key in the null group, numeric text
    // counted, missing amounts skipped by the numeric aggregates.
    assert_eq!(
        out,
        json!({"groups": [
            {"key": "books", "count": 3, "sum_amount": 0.3, "mean": 0.15, "max_amount": 0.2,
             "count_amount": 2, "customers": 2, "first_customer": "ada", "who": ["ada", "bob", "ada"]},
            {"key": "games", "count": 1, "sum_amount": 19.99, "mean": 19.99, "max_amount": 19.99,
             "count_amount": 1, "customers": 1, "first_customer": "bob", "who": ["bob"]},
            {"key": null, "count": 1, "sum_amount": 5, "mean": 5, "max_amount": 5,
             "count_amount": 1, "customers": 1, "first_customer": "cy", "who": ["cy"]},
        ], "count": 3})
    );
    // The output keeps the group's members in that order.
    let first = out["groups"][0].as_object().expect("group");
    assert_eq!(
        first.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "key",
            "count",
            "sum_amount",
            "mean",
            "max_amount",
            "count_amount",
            "customers",
            "first_customer",
            "who"
        ]
    );

    let out = ok(
        &c,
        "group",
        json!({"list": [{"t": "a"}, {"t": "b"}, {"t": "a"}], "key": "t", "include_items": true}),
    )
    .await;
    assert_eq!(
        out,
        json!({"groups": [
            {"key": "a", "count": 2, "items": [{"t": "a"}, {"t": "a"}]},
            {"key": "b", "count": 1, "items": [{"t": "b"}]},
        ], "count": 2})
    );

    let msg = invalid(
        &c,
        "group",
        json!({"list": [{"k": 1, "v": 2}, {"k": 1, "v": "two"}], "key": "k",
               "aggregates": [{"field": "v", "operation": "sum"}]}),
    )
    .await;
    assert!(
        msg.contains("list[1].v is not a number") && msg.contains("sum"),
        "{msg}"
    );
    let msg = invalid(
        &c,
        "group",
        json!({"list": [], "key": "k", "aggregates": [{"field": "v", "operation": "sum", "name": "count"}]}),
    )
    .await;
    assert!(
        msg.contains("aggregates[0].name") && msg.contains("\"count\""),
        "{msg}"
    );
}
