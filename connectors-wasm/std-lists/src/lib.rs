//! `lists`: Weft's standard blocks for working with lists — filter, merge,
//! deduplicate, lookup, limit, sort, transform, compare and group (in
//! [`group`]).
//!
//! Fields are addressed with dot/index paths (`customer.name`,
//! `lines[0].sku`); the empty path `""` is the item itself. Conditions use
//! the same operators as the engine's condition block (`weft-conditions`).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use weft_conditions::{Combine, Operator, canonical_text as canonical, combine, compare, get_path};
use weft_sdk::prelude::*;
use weft_sdk::serde_json::Map;

mod group;
use group::group;

/// A list with its length, the output of most list blocks.
#[derive(Serialize, JsonSchema)]
pub struct ListOutput {
    /// The resulting list.
    pub list: Vec<Value>,
    /// How many items `list` holds.
    pub count: usize,
}

impl ListOutput {
    fn new(list: Vec<Value>) -> Self {
        ListOutput {
            count: list.len(),
            list,
        }
    }
}

/// The value at `path` inside `item`, or null when the path leads nowhere.
fn field_value<'a>(item: &'a Value, path: &str) -> &'a Value {
    get_path(item, path).unwrap_or(&Value::Null)
}

// ---------------------------------------------------------------- filter

/// One condition an item must meet.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Path of the value to test inside each item (`status`,
    /// `customer.address.city`, `tags[0]`); empty for the item itself. A
    /// path that leads nowhere tests null.
    #[serde(default)]
    pub field: String,
    /// The comparison: `=`, `!=`, `>`, `>=`, `<`, `<=`, `empty`, `not empty`,
    /// `contains`, `does not contain`, `in list`, `not in list`, `is number`,
    /// `is text`, `is list`, `is object`, `is true`, `is false`.
    pub op: Operator,
    /// The value to compare with (ignored by operators that take none, such
    /// as `empty` or `is number`).
    #[serde(default)]
    pub value: Value,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterInput {
    /// The items to filter.
    pub list: Vec<Value>,
    /// The conditions an item is tested against. With no conditions, mode
    /// `all` keeps every item and mode `some` keeps none.
    pub conditions: Vec<Condition>,
    /// `all`: keep items that meet every condition; `some`: keep items that
    /// meet at least one.
    #[serde(default)]
    pub mode: Combine,
}

fn filter(_ctx: &Context, input: FilterInput) -> Result<ListOutput, BlockError> {
    let conditions = &input.conditions;
    let list = input
        .list
        .into_iter()
        .filter(|item| {
            combine(
                input.mode,
                conditions
                    .iter()
                    .map(|c| compare(field_value(item, &c.field), c.op, &c.value)),
            )
        })
        .collect();
    Ok(ListOutput::new(list))
}

// ----------------------------------------------------------------- merge

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The lists to concatenate, in order.
    pub lists: Vec<Vec<Value>>,
}

fn merge(_ctx: &Context, input: MergeInput) -> Result<ListOutput, BlockError> {
    Ok(ListOutput::new(input.lists.into_iter().flatten().collect()))
}

// ----------------------------------------------------------- deduplicate

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeduplicateInput {
    /// The items to deduplicate.
    pub list: Vec<Value>,
    /// Path of the value that identifies an item (e.g. `id` or
    /// `customer.email`); empty to compare whole items. Values are compared
    /// by JSON equality; items where the path leads nowhere share the key
    /// null.
    #[serde(default)]
    pub key: String,
}

#[derive(Serialize, JsonSchema)]
pub struct DeduplicateOutput {
    /// The items, keeping the first occurrence of each key in order.
    pub list: Vec<Value>,
    /// How many items `list` holds.
    pub count: usize,
    /// How many duplicates were dropped.
    pub removed: usize,
}

fn deduplicate(_ctx: &Context, input: DeduplicateInput) -> Result<DeduplicateOutput, BlockError> {
    let before = input.list.len();
    let mut seen = HashSet::new();
    let list: Vec<Value> = input
        .list
        .into_iter()
        .filter(|item| seen.insert(canonical(field_value(item, &input.key))))
        .collect();
    Ok(DeduplicateOutput {
        count: list.len(),
        removed: before - list.len(),
        list,
    })
}

// ---------------------------------------------------------------- lookup

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupInput {
    /// The items to search.
    pub list: Vec<Value>,
    /// Path of the value to match inside each item (e.g. `id`); empty for
    /// the item itself.
    pub field: String,
    /// The value to look for. Compared like the `=` condition: numbers
    /// numerically, also when one side is numeric text.
    pub value: Value,
}

#[derive(Serialize, JsonSchema)]
pub struct LookupOutput {
    /// Whether an item matched.
    pub found: bool,
    /// The first matching item, or null.
    pub item: Value,
    /// The position (from 0) of the first matching item, or null.
    pub index: Option<usize>,
}

fn lookup(_ctx: &Context, input: LookupInput) -> Result<LookupOutput, BlockError> {
    let hit = input
        .list
        .into_iter()
        .enumerate()
        .find(|(_, item)| compare(field_value(item, &input.field), Operator::Eq, &input.value));
    Ok(match hit {
        Some((index, item)) => LookupOutput {
            found: true,
            item,
            index: Some(index),
        },
        None => LookupOutput {
            found: false,
            item: Value::Null,
            index: None,
        },
    })
}

// ----------------------------------------------------------------- limit

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitInput {
    /// The items to take from.
    pub list: Vec<Value>,
    /// At most this many items are kept.
    pub limit: usize,
    /// How many items to skip first.
    #[serde(default)]
    pub offset: usize,
}

fn limit(_ctx: &Context, input: LimitInput) -> Result<ListOutput, BlockError> {
    Ok(ListOutput::new(
        input
            .list
            .into_iter()
            .skip(input.offset)
            .take(input.limit)
            .collect(),
    ))
}

// ------------------------------------------------------------------ sort

/// Sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SortInput {
    /// The items to sort.
    pub list: Vec<Value>,
    /// Path of the value to sort by (e.g. `price` or `customer.name`);
    /// empty to sort by the items themselves.
    #[serde(default)]
    pub field: String,
    /// `asc` or `desc`. Numbers (also numeric text such as "10") compare
    /// numerically, other text alphabetically, and numbers come before text
    /// when ascending. Items whose value is neither a number nor text
    /// (null, missing, true/false, lists, objects) go last in both
    /// directions. Items that compare equal keep their order.
    #[serde(default)]
    pub direction: Direction,
}

enum SortKey<'a> {
    Number(f64),
    Text(&'a str),
    Last,
}

fn sort_key(value: &Value) -> SortKey<'_> {
    match value {
        Value::Number(n) => n.as_f64().map_or(SortKey::Last, SortKey::Number),
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => SortKey::Number(f),
            _ => SortKey::Text(s),
        },
        _ => SortKey::Last,
    }
}

fn sort(_ctx: &Context, input: SortInput) -> Result<ListOutput, BlockError> {
    let mut keyed: Vec<(SortKey<'_>, usize)> = input
        .list
        .iter()
        .enumerate()
        .map(|(i, item)| (sort_key(field_value(item, &input.field)), i))
        .collect();
    let desc = input.direction == Direction::Desc;
    // A stable sort: equal keys keep their original order either way.
    keyed.sort_by(|(a, _), (b, _)| {
        let ordered = |o: Ordering| if desc { o.reverse() } else { o };
        match (a, b) {
            (SortKey::Last, SortKey::Last) => Ordering::Equal,
            (SortKey::Last, _) => Ordering::Greater,
            (_, SortKey::Last) => Ordering::Less,
            (SortKey::Number(x), SortKey::Number(y)) => {
                ordered(x.partial_cmp(y).unwrap_or(Ordering::Equal))
            }
            (SortKey::Text(x), SortKey::Text(y)) => ordered(x.cmp(y)),
            (SortKey::Number(_), SortKey::Text(_)) => ordered(Ordering::Less),
            (SortKey::Text(_), SortKey::Number(_)) => ordered(Ordering::Greater),
        }
    });
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let mut slots: Vec<Option<Value>> = input.list.into_iter().map(Some).collect();
    let list = order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect();
    Ok(ListOutput::new(list))
}

// ------------------------------------------------------------- transform

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransformInput {
    /// The items to reshape; every item must be an object.
    pub list: Vec<Value>,
    /// Keep only these top-level fields (applied first). Fields an item
    /// lacks are not added. Omit to keep all fields.
    #[serde(default)]
    pub pick: Option<Vec<String>>,
    /// Rename top-level fields, old name → new name (applied after `pick`).
    /// All renames happen at once, so `{"a": "b", "b": "a"}` swaps two
    /// fields. A field the item lacks is skipped.
    #[serde(default)]
    pub rename: Option<BTreeMap<String, String>>,
    /// Set top-level fields to these values, adding or overwriting them
    /// (applied last).
    #[serde(default)]
    pub set: Option<Map<String, Value>>,
}

fn transform(_ctx: &Context, input: TransformInput) -> Result<ListOutput, BlockError> {
    let mut list = Vec::with_capacity(input.list.len());
    for (index, item) in input.list.into_iter().enumerate() {
        let Value::Object(mut fields) = item else {
            return Err(BlockError::invalid_input(format!(
                "list[{index}] is not an object (it is {}); transform works on objects only",
                kind_of(&item)
            ))
            .with_details(json!({ "path": format!("list[{index}]") })));
        };
        if let Some(pick) = &input.pick {
            fields.retain(|k, _| pick.iter().any(|p| p == k));
        }
        if let Some(rename) = &input.rename {
            // A renamed field keeps its place; a field whose name a rename
            // takes over gives way to the renamed value.
            let taken: HashSet<&str> = rename
                .iter()
                .filter(|(old, _)| fields.contains_key(old.as_str()))
                .map(|(_, new)| new.as_str())
                .collect();
            let mut renamed = Map::new();
            for (name, value) in fields {
                match rename.get(&name) {
                    Some(new) => {
                        renamed.insert(new.clone(), value);
                    }
                    None if taken.contains(name.as_str()) => {}
                    None => {
                        renamed.insert(name, value);
                    }
                }
            }
            fields = renamed;
        }
        if let Some(set) = &input.set {
            for (k, v) in set {
                fields.insert(k.clone(), v.clone());
            }
        }
        list.push(Value::Object(fields));
    }
    Ok(ListOutput::new(list))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

// --------------------------------------------------------------- compare

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareInput {
    /// The first list.
    pub left: Vec<Value>,
    /// The second list.
    pub right: Vec<Value>,
    /// Path of the value that identifies an item in both lists (e.g. `id`);
    /// empty to compare whole items. Values are compared by JSON equality;
    /// items where the path leads nowhere have the key null.
    #[serde(default)]
    pub key: String,
    /// The key's path in `left` items when it differs from `right`'s
    /// (`customer_id` against `id`); `key` when omitted.
    #[serde(default)]
    pub left_key: Option<String>,
    /// The key's path in `right` items; `key` when omitted.
    #[serde(default)]
    pub right_key: Option<String>,
}

/// A left item and the right item with the same key.
#[derive(Serialize, JsonSchema)]
pub struct Pair {
    /// The item from `left`.
    pub left: Value,
    /// The first item from `right` with the same key.
    pub right: Value,
}

#[derive(Serialize, JsonSchema)]
pub struct CompareOutput {
    /// Items of `left` whose key is not in `right`.
    pub only_in_left: Vec<Value>,
    /// Items of `right` whose key is not in `left`.
    pub only_in_right: Vec<Value>,
    /// Items of `left` whose key is also in `right` (the left items).
    pub in_both: Vec<Value>,
    /// For every item of `in_both`, the left item with the first right item
    /// that has the same key, to compare or merge the two sides.
    pub matched: Vec<Pair>,
}

fn compare_lists(_ctx: &Context, input: CompareInput) -> Result<CompareOutput, BlockError> {
    let left_path = input.left_key.as_deref().unwrap_or(&input.key);
    let right_path = input.right_key.as_deref().unwrap_or(&input.key);
    let left_keys: Vec<String> = input
        .left
        .iter()
        .map(|item| canonical(field_value(item, left_path)))
        .collect();
    let right_keys: Vec<String> = input
        .right
        .iter()
        .map(|item| canonical(field_value(item, right_path)))
        .collect();
    let in_left: HashSet<&str> = left_keys.iter().map(String::as_str).collect();
    // The first right item per key, for the pairs.
    let mut first_right: HashMap<&str, usize> = HashMap::new();
    for (i, k) in right_keys.iter().enumerate() {
        first_right.entry(k.as_str()).or_insert(i);
    }
    let mut in_both = Vec::new();
    let mut matched = Vec::new();
    let mut only_in_left = Vec::new();
    for (item, k) in input.left.into_iter().zip(&left_keys) {
        match first_right.get(k.as_str()) {
            Some(&r) => {
                matched.push(Pair {
                    left: item.clone(),
                    right: input.right[r].clone(),
                });
                in_both.push(item);
            }
            None => only_in_left.push(item),
        }
    }
    let only_in_right = input
        .right
        .into_iter()
        .zip(&right_keys)
        .filter(|(_, k)| !in_left.contains(k.as_str()))
        .map(|(item, _)| item)
        .collect();
    Ok(CompareOutput {
        only_in_left,
        only_in_right,
        in_both,
        matched,
    })
}

weft_sdk::connector! {
    id: "lists",
    name: "Lists",
    description: "Filter, merge, deduplicate, look up, limit, sort, reshape, compare and group lists.",
    hosts: [],
    auth: [Auth::None],
    blocks: [
        filter => ("filter", "Filter list", "Keeps the items that meet the conditions."),
        merge => ("merge", "Merge lists", "Concatenates lists in order."),
        deduplicate => ("deduplicate", "Deduplicate list", "Drops items whose key was already seen; the first occurrence wins."),
        lookup => ("lookup", "Look up item", "Finds the first item whose field equals a value."),
        limit => ("limit", "Limit list", "Keeps at most `limit` items after skipping `offset`."),
        sort => ("sort", "Sort list", "Sorts items by a field, numbers numerically and text alphabetically."),
        transform => ("transform", "Transform items", "Picks, renames and sets top-level fields of every item."),
        compare_lists => ("compare", "Compare lists", "Splits two lists into items only in the left, only in the right, and in both, matching items by a key per side."),
        group => ("group", "Group list", "One row per distinct key with counts, sums, averages and other aggregates per group."),
    ],
}
